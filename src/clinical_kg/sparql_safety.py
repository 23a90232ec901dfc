"""Checks that run before any user-supplied SPARQL is evaluated, and the text the engine runs.

Every engine we embed follows ``SERVICE`` to the network and rdflib also fetches ``FROM <url>``
(see shared/reference/security-findings.md, T1 and T3). A query is therefore parsed first and
its parse tree and algebra inspected: ``SERVICE`` in any form, dataset clauses (``FROM``/``FROM
NAMED``) and updates are refused with a clear error. The check fails closed: a query rdflib
cannot parse is not run.

The engine runs exactly what was checked (T20). rdflib and Oxigraph read some texts differently
(``\\u0022`` outside a string, a comment ended by a bare carriage return), so the user's text
never reaches the engine: :func:`check_query` returns the query rewritten from rdflib's parse
tree in a canonical form (:mod:`clinical_kg.sparql_writer`), audits that text token by token,
parses it again with rdflib and runs the same checks on it, and compares its algebra with the
user's. The canonical text is what every caller gives the engine; a query that cannot be
rewritten faithfully is refused.
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import rdflib.plugins.sparql
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.algebra import translatePrologue, translateQuery, translateUpdate
from rdflib.plugins.sparql.parser import expandUnicodeEscapes_re, parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from clinical_kg.errors import QueryError
from clinical_kg.sparql_writer import UnwritableError, audit, write_query, write_update

# Never let rdflib fetch FROM/LOAD graphs from the network or the file system.
rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False

QUERY_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
_BARE_CR = re.compile(r"\r(?!\n)")
MAX_NESTING = 256  # brackets of any kind; deeper is refused before parsing
_DEEP_STACK_BYTES = 512 * 1024 * 1024  # reserved address space; only what the recursion touches is used
_DEEP_STACK_LOCK = threading.Lock()
_SERVICE_REFUSED = "SERVICE is refused: queries may not reach other endpoints or files"
_SERVICE_HINT = "remove the SERVICE block; everything clinical-kg knows is in the local graph"


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the check: its form and the canonical text, the only text to run."""

    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    text: str


def _contains(node: Any, names: set[str]) -> bool:
    if isinstance(node, CompValue):
        return node.name in names or any(_contains(value, names) for value in node.values())
    if isinstance(node, (list, tuple, ParseResults)):
        return any(_contains(item, names) for item in node)
    return False


def check_query(text: str, prefixes: dict[str, str] | None = None, base: str | None = None) -> CheckedQuery:
    """Check ``text`` and return its form and canonical text, or raise QueryError.

    Refused: syntax errors (with the parser's line and column), updates, ``SERVICE`` anywhere
    (including ``SERVICE SILENT``, ``SERVICE ?var``, nested or inside ``OPTIONAL``/``UNION``),
    ``FROM``/``FROM NAMED`` dataset clauses, and queries that cannot be written in the canonical
    form. ``prefixes`` are predeclared prefixes; the canonical text needs none. Relative IRIs
    (``<s>``) are resolved against ``base`` (the endpoint's URL), else refused. Answers are
    remembered per text, since rdflib's parser takes milliseconds to tens of milliseconds.
    """
    return _check(text, tuple(sorted((prefixes or {}).items())), base)


@lru_cache(maxsize=512)
def _check(text: str, prefixes: tuple[tuple[str, str], ...], base: str | None = None) -> CheckedQuery:
    refuse_ambiguous_text(text)
    _refuse_deep_nesting(text)
    return _with_deep_stack(_checked, text, prefixes, base)


def _checked(text: str, prefixes: tuple[tuple[str, str], ...], base: str | None = None) -> CheckedQuery:
    parsed = _parse(parseQuery, text)
    form = _refuse_unsafe_query(parsed)
    try:
        canonical = write_query(parsed, translatePrologue(parsed[0], base, dict(prefixes)))
    except UnwritableError as exc:
        raise _unwritable(exc) from None
    except Exception as exc:  # an unknown prefix, for example
        raise QueryError(f"SPARQL query is not valid: {exc}") from None
    algebra = _algebra(lambda: translateQuery(parsed, base=base, initNs=dict(prefixes)).algebra)
    _refuse_service(algebra)
    _same_query(text, canonical, algebra)
    return CheckedQuery(form, canonical)


def check_update(text: str, prefixes: dict[str, str] | None = None) -> str:
    """Check a SPARQL Update and return its canonical text, or raise QueryError.

    Refused: syntax errors, ``LOAD`` (the endpoint never fetches documents), ``SERVICE``, and
    updates that cannot be written in the canonical form.
    """
    refuse_ambiguous_text(text)
    _refuse_deep_nesting(text)
    return _with_deep_stack(_checked_update, text, dict(prefixes or {}))


def _checked_update(text: str, initial: dict[str, str]) -> str:
    parsed = _parse(parseUpdate, text)
    if _contains(parsed, {"Load"}):
        raise QueryError("LOAD is refused: nothing is ever fetched", hint="PUT the data to the graph store")
    _refuse_service(parsed)
    try:
        prologues, prologue = [], None
        for declarations in dict.get(parsed, "prologue", []):
            prologue = translatePrologue(declarations, None, initial, prologue)
            prologues.append(prologue)
        canonical = write_update(parsed, prologues)
    except UnwritableError as exc:
        raise _unwritable(exc) from None
    except Exception as exc:
        raise QueryError(f"SPARQL Update is not valid: {exc}") from None
    algebra = _algebra(lambda: translateUpdate(parsed, initNs=initial).algebra)
    _refuse_service(algebra)
    _verify(canonical)
    again = _parse(parseUpdate, canonical)
    if _contains(again, {"Load", "ServiceGraphPattern"}) or repr(translateUpdate(again).algebra) != repr(algebra):
        raise _unwritable(UnwritableError("the rewritten update differs from the one given"))
    return canonical


def refuse_ambiguous_text(text: str) -> None:
    """Refuse the two known spellings that SPARQL parsers read differently, with their position.

    A ``\\u`` escape of a character that delimits or ends something (a quote, ``<``, ``>``, ``#``,
    a backslash, a line end...): rdflib expands it before reading, Oxigraph only inside strings and
    IRIs, so the two disagree on where a string, IRI or comment ends. And a carriage return not
    followed by a line feed, which ends a comment for Oxigraph but not for rdflib. The canonical
    rewrite would run rdflib's reading safely anyway; refusing says plainly that the text is ambiguous.
    """
    for match in expandUnicodeEscapes_re.finditer(text):
        try:
            character = chr(int(match.group(1), 16))
        except (ValueError, OverflowError):
            continue  # rdflib's parser refuses it with its own message
        if character.isascii() and not character.isalnum() and character not in "_-.":
            line, column = _position(text, match.start())
            raise QueryError(
                f"{match.group()} at line {line}, column {column} is refused: SPARQL parsers disagree on "
                f"where a string, IRI or comment ends around an escaped {character!r}",
                hint="write the character itself (inside a string: \\\" or \\' for quotes, \\n for a line end)",
            )
    bare = _BARE_CR.search(text)
    if bare:
        line, column = _position(text, bare.start())
        raise QueryError(
            f"a carriage return not followed by a line feed at line {line}, column {column} is refused: "
            "SPARQL parsers disagree on whether it ends a comment",
            hint="end lines with LF or CRLF",
        )


def _refuse_deep_nesting(text: str) -> None:
    """Refuse brackets nested deeper than MAX_NESTING, with the position, before the parser recurses into them."""
    depth = 0
    for index, character in enumerate(text):
        if character in "([{":
            depth += 1
            if depth > MAX_NESTING:
                line, column = _position(text, index)
                raise QueryError(f"brackets nested more than {MAX_NESTING} deep at line {line}, column {column}",
                                 hint="write the expression flatter")  # fmt: skip
        elif character in ")]}":
            depth -= 1


def _with_deep_stack(function: Any, *args: Any) -> Any:
    """``function(*args)`` in a thread with a large stack and recursion limit: rdflib's parser recurses about
    forty calls per bracket, so Python's default limit refused 25 nested brackets, which Oxigraph runs."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    with _DEEP_STACK_LOCK:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 100_000))
        threading.stack_size(_DEEP_STACK_BYTES)
        try:
            thread = threading.Thread(target=run, name="ckg-sparql-check")
            thread.start()
        finally:
            threading.stack_size(0)
        thread.join()
        sys.setrecursionlimit(limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _position(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _parse(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ParseException as exc:
        raise QueryError(
            f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}",
            hint="check the query near that position; updates (INSERT, DELETE, LOAD) are not accepted here",
        ) from None
    except Exception as exc:  # rdflib's parser raises assorted types on odd input
        raise QueryError(f"SPARQL query could not be parsed: {exc}") from None


def _refuse_unsafe_query(parsed: ParseResults) -> str:
    """The form of a parsed query; refuse updates, FROM and SERVICE."""
    form_node = parsed[1]
    form = QUERY_FORMS.get(getattr(form_node, "name", ""))
    if form is None:
        raise QueryError("only SPARQL queries are accepted (SELECT, ASK, CONSTRUCT, DESCRIBE), not updates")
    if "datasetClause" in form_node:
        raise QueryError(
            "FROM and FROM NAMED are refused: queries run over the loaded graph only",
            hint="remove the FROM clause",
        )
    _refuse_service(parsed)
    return form


def _refuse_service(node: Any) -> None:
    if _contains(node, {"ServiceGraphPattern"}):
        raise QueryError(_SERVICE_REFUSED, hint=_SERVICE_HINT)


def _algebra(translate: Any) -> Any:
    try:
        return translate()
    except Exception as exc:
        raise QueryError(f"SPARQL query is not valid: {exc}") from None


def _verify(canonical: str) -> None:
    """The canonical text holds only canonical tokens, and rdflib's escape expansion leaves it as it is."""
    try:
        audit(canonical)
    except UnwritableError as exc:
        raise _unwritable(exc) from None


def _same_query(text: str, canonical: str, algebra: Any) -> None:
    """Re-check the canonical text and make sure it asks exactly what ``text`` asked."""
    _verify(canonical)
    try:
        again = parseQuery(canonical)
        _refuse_unsafe_query(again)
        same = repr(translateQuery(again).algebra) == repr(algebra)
    except QueryError:
        raise
    except Exception as exc:
        raise _unwritable(UnwritableError(f"the rewritten query does not parse ({exc})")) from None
    if not same:
        raise _unwritable(UnwritableError("the rewritten query differs from the one given"))


def _unwritable(exc: UnwritableError) -> QueryError:
    return QueryError(
        f"this query cannot be run safely: {exc}",
        hint="the engine runs a canonical rewrite of every query; write it more plainly "
        "(full IRIs or declared prefixes, characters instead of \\u escapes)",
    )
