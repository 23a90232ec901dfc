"""Differential fuzz of the SPARQL check: no query it accepts reaches the network when the engine runs it.

The check parses with rdflib and the engine is Oxigraph; the two parsers read some texts
differently (shared/reference/security-findings.md, T20). This generates queries that mix
SERVICE calls to a loopback canary with strings, IRIs, comments, ``\\u`` escapes and line endings,
then, for every query:

- the check (:func:`clinical_kg.sparql_safety.check_query`) accepts or refuses it. The check has
  two layers: a text rule that refuses the known ambiguous spellings, and the canonical rewrite
  that the engine runs. To prove the rewrite on its own, the check runs here without the text
  rule; every query it accepts has its canonical text run by Oxigraph, unsandboxed, over a
  one-triple store, and the canary counts the TCP connections it receives: the result must be 0.
  The full check accepts a subset of those (the ones the text rule also passes), counted apart;
- for comparison, the check as it was before the canonical rewrite (rdflib finds no SERVICE in the
  text, and the text as typed goes to Oxigraph) is replayed, and its connections are counted.

Deterministic for a seed. CI runs a small slice (tests/test_sparql_differential.py); the bigger run:

    python scripts/fuzz_sparql_differential.py --count 20000 --seed 1

Exit status 1 if any accepted query made a connection.
"""

from __future__ import annotations

import argparse
import http.server
import random
import sys
import threading
import time
from dataclasses import dataclass, field

import pyoxigraph as ox
from pyparsing import ParseResults
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from clinical_kg import sparql_safety
from clinical_kg.errors import QueryError

EMPTY_RESULTS = b'{"head":{"vars":["a","b","c"]},"results":{"bindings":[]}}'


class Canary(http.server.ThreadingHTTPServer):
    """A loopback SPARQL endpoint that counts every connection it accepts and answers with no rows."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.connections = 0
        self._lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self._lock:
            self.connections += 1
        super().process_request(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/sparql"


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(EMPTY_RESULTS)))
        self.end_headers()
        self.wfile.write(EMPTY_RESULTS)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


# ---------------------------------------------------------------- the generator

LINE_ENDS = ["\n", "\r", "\r\n", "\\u000a", "\\u000D", "\\u000d\\u000a", " ", "\t", "\\n"]
QUOTES = ['"', "'", '"""', "'''", "\\u0022", "\\u0027", "\\U00000022", '\\"', "\\\\\\u0022", "\\\\u0022"]
NEWLINES = ["\n", "\r\n", "\r", "\\u000a"]
SEPARATORS = [" ", "\n", "\r", "\r\n", "\t", " . ", "\\u0020", "\\u000a"]


def service_call(rng: random.Random, canary: str) -> str:
    """A SERVICE call to the canary, in one of many spellings."""
    keyword = rng.choice(["SERVICE", "service", "SeRvIcE", "SERVICE SILENT", "service silent", "SERV\\u0049CE",
                          "\\u0053ERVICE", "SERVICE\\u0020SILENT", "SERVICE\r", "SERVICE#x\n"])  # fmt: skip
    target = rng.choice([f"<{canary}>", f"<{canary.replace('/sparql', '/')}\\u0073parql>", "?svc"])
    body = rng.choice(["{ ?a ?b ?c }", "{?a ?b ?c}", "{ ?a ?b ?c . }"])
    call = f"{keyword} {target} {body}"
    if target == "?svc":
        call = f"VALUES ?svc {{ <{canary}> }} {call}"
    return call


def fragment(rng: random.Random, canary: str) -> str:
    """One piece of a query body: plain patterns, SERVICE, or SERVICE hidden in a string, IRI or comment."""
    kind = rng.choices(range(9), weights=[2, 2, 2, 2, 1, 1, 1, 3, 3])[0]
    service = service_call(rng, canary)
    if kind == 0:
        return "?s ?p ?o ."
    if kind == 1:
        return service
    if kind == 2:  # a string whose end the two parsers may see in different places
        open_quote, close_quote = rng.choice(QUOTES), rng.choice(QUOTES)
        inside = rng.choice(["x", f" }} {service} ", f"{rng.choice(LINE_ENDS)}{service}", "# y", "\\\\"])
        return f"FILTER(?o != {open_quote}{inside}{close_quote})"
    if kind == 3:  # a comment whose end the two parsers may see in different places
        before, end, after = rng.choice(["", "x", service]), rng.choice(LINE_ENDS), rng.choice(["", service])
        return f"# c {before}{end}{after}"
    if kind == 4:  # an IRI with escapes
        middle, close = rng.choice(["", "#", "\\u0023"]), rng.choice([">", "\\u003e", "\\u003E"])
        return f"?s <http://ex.org/p{middle}{close} ?o ."
    if kind == 5:  # a literal holding a comment or a SERVICE
        quote, inside = rng.choice(['"', "'"]), rng.choice(["#", service, "SERVICE", "\\\\u0022"])
        return f"?s ?p {quote}{inside}{quote} ."
    if kind == 6:
        return f"{{ ?s ?p ?o }} UNION {{ {service} }}"
    if kind == 7:  # an escaped quote that ends a string for one parser only, SERVICE between, a comment after
        quote, escaped = rng.choice([('"', "\\u0022"), ("'", "\\u0027"), ('"', "\\U00000022"), ('"', "\\u0027"),
                                     ("'", "\\u0022"), ('"', '\\"')])  # fmt: skip
        return f"FILTER(?o != {quote}a{escaped} && ?o != {quote}) {service} #{quote}){rng.choice(NEWLINES)}"
    # a comment ended by a carriage return for one parser only
    carriage_return = rng.choice(["\r", "\r ", "\\u000d"])
    return f"# c{carriage_return}{service}{rng.choice(NEWLINES)}"


def generate(rng: random.Random, canary: str) -> str:
    """A whole query: a head, one to four fragments with varied separators, a close."""
    head = rng.choice(["SELECT * WHERE {", "select * {", "ASK {", "SELECT ?s WHERE {",
                       "CONSTRUCT { ?s ?p ?o } WHERE {", "PREFIX ex: <http://ex.org/> SELECT * WHERE {"])  # fmt: skip
    body = "".join(fragment(rng, canary) + rng.choice(SEPARATORS) for _ in range(rng.randint(1, 4)))
    tail = rng.choice(["}", "}\n", "} # end", "}\r", " } \\u0023"])
    return f"{head} {body}{tail}"


# ---------------------------------------------------------------- the run


@dataclass
class Figures:
    """What a run found."""

    generated: int = 0
    accepted: int = 0  # by the check without its text rule: the canonical rewrite alone
    accepted_in_production: int = 0  # by the whole check (the text rule passes them too)
    connections: int = 0  # by accepted queries, run as checked: must stay 0
    offenders: list[str] = field(default_factory=list)
    old_accepted: int = 0  # by the check as it was: rdflib finds no SERVICE, the text goes to the engine as typed
    old_connections: int = 0
    old_offenders: int = 0

    def summary(self) -> str:
        return (
            f"generated {self.generated}, accepted by the check {self.accepted} "
            f"(by the rewrite alone; {self.accepted_in_production} with the text rule too), "
            f"canary connections from accepted queries {self.connections}; "
            f"the previous check accepted {self.old_accepted}, of which {self.old_offenders} reached the canary "
            f"({self.old_connections} connections)"
        )


def _store() -> ox.Store:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://ex.org/s"), ox.NamedNode("http://ex.org/p"), ox.Literal("o")))
    return store


def _run(store: ox.Store, text: str) -> None:
    try:
        answer = store.query(text)
        if not isinstance(answer, (bool, ox.QueryBoolean)):
            list(answer)
    except (SyntaxError, OSError, RuntimeError, ValueError):
        pass


def _connections(canary: Canary, before: int) -> int:
    time.sleep(0)  # let a just-accepted connection be counted
    return canary.connections - before


def fuzz(count: int, seed: int, compare: bool = True) -> Figures:
    """Generate ``count`` queries with ``seed`` and run them as described in the module docstring."""
    text_rule = sparql_safety.refuse_ambiguous_text
    sparql_safety.refuse_ambiguous_text = lambda text: None  # measure the canonical rewrite alone
    canary = Canary()
    threading.Thread(target=canary.serve_forever, daemon=True).start()
    store, rng, figures = _store(), random.Random(seed), Figures()
    try:
        for _ in range(count):
            text = generate(rng, canary.url)
            figures.generated += 1
            try:
                checked = sparql_safety.check_query(text)
            except QueryError:
                checked = None
            if checked is not None:
                figures.accepted += 1
                try:
                    text_rule(text)
                    figures.accepted_in_production += 1
                except QueryError:
                    pass
                before = canary.connections
                _run(store, checked.text)
                if (made := _connections(canary, before)) > 0:
                    figures.connections += made
                    figures.offenders.append(text)
            if compare and _previous_check_accepts(text):
                figures.old_accepted += 1
                before = canary.connections
                _run(store, text)
                if (made := _connections(canary, before)) > 0:
                    figures.old_connections += made
                    figures.old_offenders += 1
    finally:
        sparql_safety.refuse_ambiguous_text = text_rule
        canary.shutdown()
        canary.server_close()
    return figures


def _previous_check_accepts(text: str) -> bool:
    try:
        return not _has_service(parseQuery(text))
    except Exception:
        return False


def _has_service(node: object) -> bool:
    if isinstance(node, CompValue):
        return node.name == "ServiceGraphPattern" or any(_has_service(value) for value in node.values())
    if isinstance(node, (list, tuple, ParseResults)):
        return any(_has_service(item) for item in node)
    return False


def main() -> int:
    """Run the fuzz from the command line and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="queries to generate (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--no-compare", action="store_true", help="skip replaying the previous check")
    args = parser.parse_args()
    started = time.monotonic()
    figures = fuzz(args.count, args.seed, compare=not args.no_compare)
    print(figures.summary())
    print(f"{time.monotonic() - started:.1f} s")
    for text in figures.offenders[:10]:
        print("accepted and connected:", repr(text))
    return 1 if figures.connections else 0


if __name__ == "__main__":
    sys.exit(main())
