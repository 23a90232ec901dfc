"""Checks that run before any user-supplied SPARQL is evaluated.

Every engine we embed follows ``SERVICE`` to the network and rdflib also fetches ``FROM <url>``
(see shared/reference/security-findings.md, T1 and T3). A query is therefore parsed first and
its algebra inspected: ``SERVICE`` in any form, dataset clauses (``FROM``/``FROM NAMED``) and
updates are refused with a clear error. The check fails closed: a query rdflib cannot parse is
not run.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import rdflib.plugins.sparql
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from clinical_kg.errors import QueryError

# Never let rdflib fetch FROM/LOAD graphs from the network or the file system.
rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False

QUERY_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}


def _contains_service(node: Any) -> bool:
    if isinstance(node, CompValue):
        if node.name == "ServiceGraphPattern":
            return True
        return any(_contains_service(value) for value in node.values())
    if isinstance(node, (list, tuple, ParseResults)):
        return any(_contains_service(item) for item in node)
    return False


def check_query(text: str, prefixes: dict[str, str] | None = None) -> str:
    """Parse ``text`` and return its form (SELECT, ASK, CONSTRUCT, DESCRIBE), or raise QueryError.

    Refused: syntax errors (with the parser's line and column), updates, ``SERVICE`` anywhere
    (including ``SERVICE SILENT``, ``SERVICE ?var``, nested or inside ``OPTIONAL``/``UNION``) and
    ``FROM``/``FROM NAMED`` dataset clauses. ``prefixes`` are predeclared prefixes. Answers
    are remembered per text, since rdflib's parser takes tens of milliseconds.
    """
    return _check(text, tuple(sorted((prefixes or {}).items())))


@lru_cache(maxsize=512)
def _check(text: str, prefixes: tuple[tuple[str, str], ...]) -> str:
    try:
        parsed = parseQuery(text)
    except ParseException as exc:
        raise QueryError(
            f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}",
            hint="check the query near that position; updates (INSERT, DELETE, LOAD) are not accepted here",
        ) from None
    except Exception as exc:  # rdflib's parser raises assorted types on odd input
        raise QueryError(f"SPARQL query could not be parsed: {exc}") from None
    form_node = parsed[1]
    form = QUERY_FORMS.get(getattr(form_node, "name", ""))
    if form is None:
        raise QueryError("only SPARQL queries are accepted (SELECT, ASK, CONSTRUCT, DESCRIBE), not updates")
    if "datasetClause" in form_node:
        raise QueryError(
            "FROM and FROM NAMED are refused: queries run over the loaded graph only",
            hint="remove the FROM clause",
        )
    try:
        algebra = translateQuery(parsed, initNs=dict(prefixes)).algebra
    except Exception as exc:
        raise QueryError(f"SPARQL query is not valid: {exc}") from None
    if _contains_service(parsed) or _contains_service(algebra):
        raise QueryError(
            "SERVICE is refused: queries may not reach other endpoints or files",
            hint="remove the SERVICE block; everything clinical-kg knows is in the local graph",
        )
    return form
