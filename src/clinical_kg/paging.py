"""Paging of catalogue answers: one page of rows and how many rows the answer has in all.

One place for every caller (``ckg query --limit --offset``, the endpoint's ``/queries/NAME?limit=
&offset=``, the Python API). A catalogue query ends with its ``ORDER BY``, so even its first page
needs every row: an engine in this process evaluates the query once, counts the rows as they come
and keeps the page's (:meth:`Page.take`). A SPARQL server is sent the same query text with ``LIMIT``
and ``OFFSET`` after it and the same ``SELECT`` counted in a sub-query, so that only the page comes
over the network. Both are written by the package around a checked template, and the only values
put into them are integers checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from clinical_kg.errors import QueryError

MAX_LIMIT = 100_000
_SELECT = re.compile(r"^\s*SELECT\b", re.IGNORECASE | re.MULTILINE)
Row = TypeVar("Row")


@dataclass(frozen=True)
class Page:
    """Which rows of an answer: at most ``limit`` (None: all) after skipping ``offset``."""

    limit: int | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit is not None and (not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT):
            raise QueryError(f"limit {self.limit!r} is not a whole number from 1 to {MAX_LIMIT:,}")
        if not isinstance(self.offset, int) or self.offset < 0:
            raise QueryError(f"offset {self.offset!r} is not a whole number of 0 or more")

    @property
    def whole(self) -> bool:
        """True when the page is the whole answer (no limit, no offset)."""
        return self.limit is None and self.offset == 0

    def text(self, query: str) -> str:
        """The query with this page's ``LIMIT`` and ``OFFSET`` after its ``ORDER BY``."""
        modifiers = (f" LIMIT {self.limit}" if self.limit is not None else "") + (
            f" OFFSET {self.offset}" if self.offset else ""
        )
        return query.rstrip() + "\n" + modifiers.strip() + "\n"

    def take(self, rows: Iterable[Row]) -> tuple[list[Row], int]:
        """This page's rows of a whole answer's, and how many rows the answer has, in one pass over them."""
        remaining = iter(rows)
        skipped = sum(1 for _ in islice(remaining, self.offset))
        kept = list(islice(remaining, self.limit))
        return kept, skipped + len(kept) + sum(1 for _ in remaining)


def count_text(query: str) -> str:
    """A query counting the rows of the ``SELECT`` query ``query`` (its prologue kept in front)."""
    found = _SELECT.search(query)
    if found is None:
        raise QueryError("only a SELECT query's rows can be counted")
    prologue, select = query[: found.start()], query[found.start() :]
    return f"{prologue}SELECT (COUNT(*) AS ?total) WHERE {{\n{{\n{select.rstrip()}\n}}\n}}\n"


def parse_page(limit: str | int | None, offset: str | int | None) -> Page:
    """A Page from user input (a command-line option or a URL parameter), or a QueryError."""

    def whole(name: str, value: str | int | None) -> int | None:
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise QueryError(f"{name} {value!r} is not a whole number") from None

    return Page(whole("limit", limit), whole("offset", offset) or 0)
