"""Fidelity of the canonical rewrite: does the engine answer the rewritten query as it answers the original?

The engine runs the canonical text that :func:`clinical_kg.sparql_safety.check_query` returns,
never the user's text (docs/security.md, T20). This measures what that costs, over every query of
the catalogue (``queries/*.rq``, with their example parameters bound) and every SPARQL query
written in the test suite and the package (string constants in ``tests/`` and ``src/`` that rdflib
parses as a query): for each, whether the previous check (rdflib finds no SERVICE or FROM)
accepted it, whether the check accepts it now (else why not), and whether Oxigraph gives the same
answer to the text as written and to the canonical text, over the shipped graph.

    python scripts/sparql_fidelity.py            # the figures
    python scripts/sparql_fidelity.py --verbose  # and every query refused or answered differently
"""

from __future__ import annotations

import argparse
import ast
import collections
import contextlib
import multiprocessing
import sys
from pathlib import Path

import pyoxigraph as ox
from rdflib.plugins.sparql.parser import parseQuery

from clinical_kg.catalogue import bind_parameters, load_catalogue
from clinical_kg.errors import ClinicalKGError, QueryError
from clinical_kg.namespaces import prefix_map
from clinical_kg.sparql_safety import check_query
from clinical_kg.store import open_graph
from clinical_kg.terms import TermIndex

ROOT = Path(__file__).resolve().parent.parent


def corpus(kg: object) -> dict[str, str]:
    """Every query to measure, by where it comes from."""
    found: dict[str, str] = {}
    index = TermIndex(kg)
    for name, query in load_catalogue().items():
        found.setdefault(query.text, f"queries/{name}.rq")
        example = {p.name: p.example if isinstance(p.example, list) else [p.example]
                   for p in query.parameters if p.example is not None}  # fmt: skip
        with contextlib.suppress(ClinicalKGError):
            found.setdefault(bind_parameters(query, example, index)[0], f"queries/{name}.rq (example bound)")
    for folder in ("tests", "src", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_query(node.value):
                    found.setdefault(node.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _is_query(text: str) -> bool:
    if not any(word in text.upper() for word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")):
        return False
    try:
        parseQuery(text)
    except Exception:
        return False
    return True


def _answer(store: ox.Store, text: str, prefixes: dict[str, str]) -> object:
    answer = store.query(text, prefixes=prefixes)
    if isinstance(answer, ox.QueryBoolean):
        return bool(answer)
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows = [tuple(str(s[v]) if s[v] is not None else None for v in variables) for s in answer]
        return variables, sorted(rows, key=repr) if "ORDER BY" not in text.upper() else rows
    return sorted(" ".join("_:b" if isinstance(x, ox.BlankNode) else str(x) for x in t) for t in answer)


def _compare(store: ox.Store, text: str, canonical: str, prefixes: dict[str, str]) -> str:
    """In a child process: "same", "different", "canonical fails: ..." or "engine fails: ..."."""
    try:
        as_written = _answer(store, text, prefixes)
    except (SyntaxError, OSError, RuntimeError) as exc:
        return f"engine fails on the text as written: {exc}"
    try:
        return "same" if _answer(store, canonical, {}) == as_written else "different"
    except (SyntaxError, OSError, RuntimeError) as exc:
        return f"canonical text fails: {exc}"


def _in_child(store: ox.Store, text: str, canonical: str, prefixes: dict[str, str], timeout: float) -> str:
    """``_compare`` in a forked process, killed after ``timeout`` seconds (pyoxigraph cannot be interrupted)."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=lambda: child.send(_compare(store, text, canonical, prefixes)))
    process.start()
    outcome = parent.recv() if parent.poll(timeout) else f"timed out after {timeout:g} s"
    process.kill()
    process.join()
    return outcome


def measure(verbose: bool = False, timeout: float = 10.0) -> collections.Counter:
    """The figures; with ``verbose``, print every query refused or answered differently."""
    kg = open_graph("oxigraph")
    store, prefixes = kg.store, prefix_map()
    figures: collections.Counter = collections.Counter()
    for text, origin in corpus(kg).items():
        figures["queries"] += 1
        try:
            checked = check_query(text, prefixes)
        except QueryError as exc:
            figures["refused"] += 1
            if verbose:
                print(f"refused  {origin}: {exc.message}")
            continue
        figures["accepted"] += 1
        outcome = _in_child(store, text, checked.text, prefixes, timeout)
        figures[outcome.split(":")[0].replace("timed out after", "timed out")] += 1
        if verbose and outcome != "same":
            print(f"{outcome}  {origin}\n  {checked.text[:300]}")
    return figures


def main() -> int:
    """Print the figures; exit 1 if any accepted query is answered differently."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every query refused or answered differently")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per query (default 10)")
    args = parser.parse_args()
    figures = measure(args.verbose, args.timeout)
    print(", ".join(f"{key}: {value}" for key, value in figures.items()))
    return 1 if figures["different"] or figures["canonical text fails"] else 0


if __name__ == "__main__":
    sys.exit(main())
