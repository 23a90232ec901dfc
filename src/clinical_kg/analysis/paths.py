"""Explanation paths between two terms, with the evidence of every hop (``ckg path``).

A path follows statements a source makes, forwards, by the rules of the catalogue's chains
(``docs/data-model.md``):

- each link is one of ``relations`` (``ckg:causes`` unless asked); the last link may also be a
  presentation link (``ckg:hasSymptom``), so a path ends where something presents with the term;
- the path may end at the term asked for or at a narrower one (``ckg:broader*``), and a term and
  its ``skos:exactMatch`` in an imported terminology count as one;
- statements a source denies are never followed;
- one link is what a source states (basis ``stated``); more are an inference (``inferred (N
  links)``), as strong as the weakest link on the vocabulary's hedge scale
  (:mod:`clinical_kg.hedges`). A link stated by several records is as strong as its strongest
  record, and every record is shown with it.

Paths are ranked by length, then by the strength of their weakest link, then by their labels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import networkx as nx

from clinical_kg.analysis.network import (
    CKG,
    Record,
    compact,
    label,
    narrower_closure,
    same_terms,
    statements,
)

CAUSES = CKG + "causes"
HAS_SYMPTOM = CKG + "hasSymptom"
CHAIN_RELATIONS = (CAUSES, CKG + "contributesTo", CKG + "aggravates", CKG + "riskFactorFor")
"""The relations a chain may follow before its last link, as the catalogue's chain queries offer them."""
DEFAULT_RELATIONS = (CAUSES,)
PRESENTATION = (HAS_SYMPTOM, CAUSES)
"""The relations a chain's last link may take besides ``relations``."""
DEFAULT_MAX_LENGTH = 2
ENUMERATION_LIMIT = 10_000
"""At most this many paths are ranked (the k best are taken from them)."""


def strongest(records: tuple[Record, ...]) -> Record:
    """The record that states a statement most strongly on the hedge scale; the first of equal ones."""
    from clinical_kg.hedges import hedge_scale

    scale = hedge_scale()
    return max(records, key=lambda record: scale.strength(record.hedge))  # max keeps the first of equals


@dataclass(frozen=True)
class Hop:
    """One link of a path: a statement and every record that states it."""

    subject: str
    relation: str
    object: str
    records: tuple[Record, ...]

    @property
    def hedge(self) -> str | None:
        """The hedge of the record that states it most strongly (None: stated flatly)."""
        return strongest(self.records).hedge

    def to_dict(self, graph: nx.MultiDiGraph) -> dict[str, object]:
        """The hop as plain values, with its records."""
        return {
            "subject": compact(self.subject),
            "subject_label": label(graph, self.subject),
            "relation": compact(self.relation),
            "object": compact(self.object),
            "object_label": label(graph, self.object),
            "hedge": self.hedge,
            "records": [r.to_dict() for r in self.records],
        }


@dataclass(frozen=True)
class ExplanationPath:
    """A path of statements from the start to the term asked for (or a narrower one)."""

    hops: tuple[Hop, ...]

    @property
    def hedge(self) -> str | None:
        """The weakest hedge along the path (None when every link is stated flatly)."""
        from clinical_kg.hedges import hedge_scale

        return hedge_scale().weakest(hop.hedge for hop in self.hops)

    @property
    def strength(self) -> float:
        """The strength of the weakest link on the hedge scale."""
        from clinical_kg.hedges import hedge_scale

        return hedge_scale().strength(self.hedge)

    @property
    def basis(self) -> str:
        """``stated`` for one link, ``inferred (N links)`` for more, as the catalogue says it."""
        return "stated" if len(self.hops) == 1 else f"inferred ({len(self.hops)} links)"

    @property
    def end(self) -> str:
        """The term the path ends at."""
        return self.hops[-1].object

    def to_dict(self, graph: nx.MultiDiGraph) -> dict[str, object]:
        """The path as plain values."""
        return {"basis": self.basis, "hedge": self.hedge, "links": len(self.hops), "end": compact(self.end),
                "end_label": label(graph, self.end), "hops": [h.to_dict(graph) for h in self.hops]}  # fmt: skip


@dataclass(frozen=True)
class PathAnswer:
    """The k best paths from one term to another, and what was searched."""

    source: str
    target: str
    max_length: int
    relations: tuple[str, ...]
    paths: list[ExplanationPath]
    reverse: bool
    """Whether a path within the same rules leads the other way (from the target to the source)."""
    graph: nx.MultiDiGraph = field(repr=False, compare=False)
    """The graph the paths were found in (for labels)."""

    def to_dict(self) -> dict[str, object]:
        """The answer as plain values (CURIEs and labels), every record of every link."""
        graph = self.graph
        return {
            "from": compact(self.source),
            "from_label": label(graph, self.source),
            "to": compact(self.target),
            "to_label": label(graph, self.target),
            "max_length": self.max_length,
            "relations": [compact(r) for r in self.relations],
            "last_link_also": [compact(r) for r in PRESENTATION if r not in self.relations],
            "paths": [p.to_dict(graph) for p in self.paths],
        }


def _edge_paths(view: nx.MultiDiGraph, starts: set[str], ends: set[str], max_length: int) -> list[list[tuple]]:
    """Every simple path of at most ``max_length`` edges from a start to an end, as (u, v, key) triples.

    The search runs on the nodes that lie within ``max_length`` links of both a start and an end, so
    its work grows with the answer rather than with the graph."""
    starts, ends = starts & set(view), ends & set(view)
    if not starts or not ends:
        return []
    from_start = nx.multi_source_dijkstra_path_length(view, starts, cutoff=max_length, weight=None)
    to_end = nx.multi_source_dijkstra_path_length(view.reverse(copy=False), ends, cutoff=max_length, weight=None)
    near = {n for n in from_start if n in to_end and from_start[n] + to_end[n] <= max_length}
    core = view.subgraph(near)
    found: list[list[tuple]] = []
    for start in sorted(starts & near):
        paths = nx.all_simple_edge_paths(core, start, ends & near, cutoff=max_length)
        found.extend(list(p) for p in itertools.islice(paths, ENUMERATION_LIMIT - len(found)))
    return found


def explanation_paths(
    graph: nx.MultiDiGraph,
    source: str,
    target: str,
    max_length: int = DEFAULT_MAX_LENGTH,
    relations: tuple[str, ...] = DEFAULT_RELATIONS,
    k: int = 3,
) -> PathAnswer:
    """The ``k`` best paths from ``source`` to ``target`` (IRIs) by the rules of the module docstring."""
    allowed = set(relations) | set(PRESENTATION)
    view = statements(graph, allowed)
    paths = [_path(graph, p) for p in _valid(_edge_paths(view, same_terms(graph, source),
                                                          _ends(graph, target), max_length), relations)]  # fmt: skip
    paths.sort(key=lambda p: (len(p.hops), -p.strength, [label(graph, h.object).casefold() for h in p.hops],
                              [h.relation for h in p.hops]))  # fmt: skip
    reverse = False
    if not paths:
        back = _valid(_edge_paths(view, same_terms(graph, target), _ends(graph, source), max_length), relations)
        reverse = bool(back)
    return PathAnswer(source, target, max_length, tuple(relations), paths[:k], reverse, graph)


def _ends(graph: nx.MultiDiGraph, target: str) -> set[str]:
    """The term and every narrower one (a term and its exact matches as one)."""
    return narrower_closure(graph, target)


def _valid(found: list[list[tuple]], relations: tuple[str, ...]) -> list[list[tuple]]:
    """The paths whose links before the last all follow ``relations``."""
    chain = set(relations)
    return [p for p in found if all(key in chain for _, _, key in p[:-1])]


def _path(graph: nx.MultiDiGraph, edges: list[tuple]) -> ExplanationPath:
    hops = tuple(Hop(u, key, v, graph.edges[u, v, key]["records"]) for u, v, key in edges)
    return ExplanationPath(hops)


__all__ = ["CHAIN_RELATIONS", "DEFAULT_RELATIONS", "ExplanationPath", "Hop", "PathAnswer", "explanation_paths"]
