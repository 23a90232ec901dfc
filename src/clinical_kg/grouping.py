"""Grouped catalogue answers: one row per answer term (a condition, a symptom, ...) instead of one per record.

A catalogue answer is flat: one row per record of evidence (one per link chain for the
``-chains`` questions), so a condition stated for several symptoms comes back on several rows.
Its grouped form has one group per value of the question's natural key (:data:`GROUPINGS`:
the term the question answers with, and what depends on it alone, such as its type), holding:

- ``listed``: the distinct values of the columns the group lists (the matched symptoms of
  ``conditions-causing-symptom``), in the answer's order;
- ``bases``: the distinct bases of its evidence (``stated``, ``inferred (2 links)``, ...), in
  the answer's order, so a group with only inferred evidence never reads as stated;
- ``evidence``: every row of the flat answer for that key, all columns but the key's, so each
  item keeps its own basis, hedge, source and quote or evidence code (and, for chains, every link).

Groups come in the order of their first row in the flat answer (the question's own order, such
as red flags first), and a page (:mod:`clinical_kg.paging`) counts groups. The flat answer is
grouped as it comes from the engine, so any store and any query of the catalogue can be grouped
without a second query (docs/decisions/0009-grouped-answers.md). The groups hold the terms
the engine gave (pyoxigraph's on the default engine), which the result writers read as they
are; :attr:`GroupedResult.groups`, the Python API's, gives them as rdflib terms, converted when
first read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from clinical_kg.errors import QueryError
from clinical_kg.store import QueryResult, converted_once, from_oxigraph, gc_paused

if TYPE_CHECKING:
    from clinical_kg.paging import Page


@dataclass(frozen=True)
class Grouping:
    """How a question's answer is grouped: by the ``key`` columns, listing the ``listed`` columns."""

    key: tuple[str, ...]
    listed: tuple[str, ...] = ()

    def columns(self) -> tuple[str, ...]:
        """The names of a group's summary columns: the key, the lists (plural names), bases and counts."""
        return self.key + tuple(f"{name}s" for name in self.listed) + ("bases",) + self.counts()

    def counts(self) -> tuple[str, ...]:
        """The names of the counts: of the first listed column's values, and of the evidence items."""
        return ((f"{self.listed[0]}Count",) if self.listed else ()) + ("evidenceCount",)


# The natural key of each catalogue question and the columns its groups list. Every catalogue
# query has an entry (a test checks it against the ``returns`` of each .rq file).
GROUPINGS: dict[str, Grouping] = {
    "adverse-effects-of-treatment": Grouping(("effect", "effectLabel"), ("treatment", "treatmentLabel")),
    "assertions": Grouping(("subject", "predicate", "object")),
    "causes-of-condition": Grouping(("cause", "causeLabel", "causeType"), ("condition", "conditionLabel")),
    "conditions-causing-symptom": Grouping(("condition", "conditionLabel"), ("symptom", "symptomLabel")),
    "conditions-causing-symptom-chains": Grouping(("condition", "conditionLabel"), ("symptom", "symptomLabel")),
    "conditions-treated-by": Grouping(("condition", "conditionLabel"), ("treatment", "treatmentLabel")),
    "conflicts": Grouping(("subject1", "subject1Label"), ("kind",)),
    "differential-diagnosis": Grouping(("condition", "conditionLabel", "explained"), ("symptom", "symptomLabel")),
    "evidence-for": Grouping(("subject", "subjectLabel", "predicate", "object", "objectLabel")),
    "prevention-for-condition": Grouping(("measure", "measureLabel", "measureType"), ("condition", "conditionLabel")),
    "prevention-for-condition-chains": Grouping(
        ("measure", "measureLabel", "measureType"), ("condition", "conditionLabel")
    ),
    "red-flags": Grouping(
        ("sign", "signLabel", "highestUrgency", "highestUrgencyLabel"), ("condition", "conditionLabel")
    ),
    "symptoms-of-condition": Grouping(
        ("symptom", "symptomLabel", "highestUrgency", "highestUrgencyLabel"), ("condition", "conditionLabel")
    ),
    "symptoms-of-condition-chains": Grouping(("symptom", "symptomLabel"), ("condition", "conditionLabel")),
    "treatments-for-condition": Grouping(
        ("treatment", "treatmentLabel", "treatmentType"), ("condition", "conditionLabel")
    ),
    "treatments-for-condition-chains": Grouping(
        ("treatment", "treatmentLabel", "treatmentType"), ("condition", "conditionLabel")
    ),
}

Row = tuple[Any, ...]
"""A row of terms, rdflib's or pyoxigraph's (None where a variable is unbound)."""


@dataclass
class Group:
    """One group of an answer: its key's terms, the listed terms, the bases and the evidence rows."""

    key: Row
    listed: list[Row] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    evidence: list[Row] = field(default_factory=list)


@dataclass
class GroupedResult:
    """A grouped catalogue answer: its groups in the answer's order, one page of them with paging.

    ``native_groups`` hold the engine's terms (what the result writers read); :attr:`groups` the
    same groups in rdflib terms. ``total`` is how many groups the whole answer has, ``offset`` how
    many come before this page. ``evidence_columns`` name the terms of each evidence row (every
    flat column but the key's).
    """

    name: str
    grouping: Grouping
    evidence_columns: tuple[str, ...]
    native_groups: list[Group]
    total: int
    offset: int = 0
    title: str | None = None
    _rdflib_groups: list[Group] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def groups(self) -> list[Group]:
        """The groups with rdflib terms (converted when first read; each distinct term once)."""
        if self._rdflib_groups is None:
            self._rdflib_groups = _in_rdflib_terms(self.native_groups)
        return self._rdflib_groups

    @property
    def columns(self) -> tuple[str, ...]:
        """The summary columns of a group (:meth:`Grouping.columns`)."""
        return self.grouping.columns()

    def counts(self, group: Group) -> tuple[int, ...]:
        """A group's counts, in the order of :meth:`Grouping.counts`."""
        return ((len(group.listed),) if self.grouping.listed else ()) + (len(group.evidence),)

    def to_records(self, curies: bool = False) -> list[dict[str, Any]]:
        """The groups as dictionaries: the key's values, the lists (each item a dictionary of the
        listed columns), ``bases``, the counts and ``evidence`` (a dictionary per row), values as
        :meth:`clinical_kg.api.Result.to_records` gives them."""
        from clinical_kg.api import plain_value

        records = []
        for group in self.groups:
            record = {name: plain_value(term, curies) for name, term in zip(self.grouping.key, group.key, strict=True)}
            if self.grouping.listed:
                record[f"{self.grouping.listed[0]}s"] = [
                    {name: plain_value(t, curies) for name, t in zip(self.grouping.listed, item, strict=True)}
                    for item in group.listed
                ]
            record["bases"] = list(group.bases)
            record.update(zip(self.grouping.counts(), self.counts(group), strict=True))
            record["evidence"] = [
                {name: plain_value(t, curies) for name, t in zip(self.evidence_columns, row, strict=True)}
                for row in group.evidence
            ]
            records.append(record)
        return records

    def __len__(self) -> int:
        return len(self.native_groups)

    def __iter__(self) -> Any:
        return iter(self.to_records())

    def __repr__(self) -> str:
        by = ", ".join(self.grouping.key)
        return f"<GroupedResult {self.name}: {len(self)} of {self.total} groups by {by}>"


def grouping_of(name: str, variables: list[str]) -> Grouping:
    """The grouping of catalogue question ``name``, checked against the columns of its answer."""
    grouping = GROUPINGS.get(name)
    if grouping is None:
        raise QueryError(f"{name} has no grouped form", hint="leave out --group")
    missing = [c for c in grouping.key + grouping.listed if c not in variables]
    if missing:
        raise QueryError(f"{name}: the grouping names {missing[0]!r}, which its answer lacks")
    return grouping


def group_answer(name: str, answer: QueryResult, page: Page | None = None, title: str | None = None) -> GroupedResult:
    """The flat answer ``answer`` of catalogue question ``name`` grouped by its natural key; with a
    ``page``, only those groups (``total`` counts all of them)."""
    variables = list(answer.variables)
    grouping = grouping_of(name, variables)
    evidence_at = [i for i, v in enumerate(variables) if v not in grouping.key]
    key_of = _getter([variables.index(c) for c in grouping.key])
    listed_of = _getter([variables.index(c) for c in grouping.listed]) if grouping.listed else None
    evidence_of = _getter(evidence_at)
    basis_at = variables.index("basis") if "basis" in variables else None
    groups: dict[Row, Group] = {}
    seen_listed: dict[Row, set[Row]] = {}
    with gc_paused():
        for row in answer.native_rows:  # the engine's terms: no rdflib terms made for the writers
            key = key_of(row)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key)
                seen_listed[key] = set()
            if listed_of is not None:
                item = listed_of(row)
                if item not in seen_listed[key]:
                    seen_listed[key].add(item)
                    group.listed.append(item)
            if basis_at is not None:
                basis = _text(row[basis_at]) if row[basis_at] is not None else "unknown"
                if basis not in group.bases:
                    group.bases.append(basis)
            group.evidence.append(evidence_of(row))
    ordered = list(groups.values())
    offset = page.offset if page is not None else 0
    end = offset + page.limit if page is not None and page.limit is not None else None
    return GroupedResult(
        name, grouping, tuple(variables[i] for i in evidence_at), ordered[offset:end], len(ordered), offset, title
    )


def _text(term: Any) -> str:
    """A literal's text, whichever library's term it is."""
    return term.value if isinstance(term, ox.Literal) else str(term)


def _as_rdflib(term: Any) -> Any:
    """A pyoxigraph term as rdflib's; an rdflib term as it is."""
    return from_oxigraph(term) if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) else term


def _in_rdflib_terms(groups: list[Group]) -> list[Group]:
    """The groups with every pyoxigraph term as an rdflib term (each distinct term converted once;
    the memory engine's terms are rdflib's already)."""
    once = converted_once(_as_rdflib)

    def row(terms: Row) -> Row:
        return tuple(map(once, terms))

    with gc_paused():
        return [Group(row(g.key), [row(item) for item in g.listed], list(g.bases), [row(r) for r in g.evidence])
                for g in groups]  # fmt: skip


def _getter(indexes: list[int]) -> Callable[[Row], Row]:
    """A function giving the terms of a row at ``indexes``, as a tuple (at C speed: 30,000 rows are
    grouped for a hub answer)."""
    if len(indexes) == 1:
        (index,) = indexes
        return lambda row: (row[index],)
    return itemgetter(*indexes)
