"""Hubs: the entities most statements meet at, by degree and betweenness centrality (``ckg hubs``).

Both measures are taken on the statements a source makes (:func:`.network.statements`): one link
per pair of entities a statement joins, whatever its relation or how many records state it, so a
symptom's degree is the number of entities it is stated to be linked to. Betweenness is the
share of shortest directed paths between other entities that pass through it (networkx,
normalised); on a graph of more than :data:`EXACT_LIMIT` entities it is estimated from that many
sampled sources (fixed seed, so the same graph gives the same figures) and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from clinical_kg.analysis.network import compact, statements

DEFAULT_KINDS = ("Symptom", "Condition", "Cause")
EXACT_LIMIT = 2000
"""Above this many entities, betweenness is estimated from this many sampled sources."""


@dataclass(frozen=True)
class Hub:
    """One entity with its centrality."""

    entity: str
    label: str
    kind: str
    degree: int
    in_degree: int
    out_degree: int
    betweenness: float

    def to_dict(self) -> dict[str, object]:
        """The hub as plain values."""
        return {"entity": compact(self.entity), "label": self.label, "class": self.kind, "degree": self.degree,
                "in_degree": self.in_degree, "out_degree": self.out_degree,
                "betweenness": round(self.betweenness, 6)}  # fmt: skip


@dataclass(frozen=True)
class Hubs:
    """The top hubs of each class asked for, and how betweenness was computed."""

    by_kind: dict[str, list[Hub]]
    entities: int
    sampled: int | None
    """The number of sampled sources when betweenness was estimated; None when it is exact."""

    def to_dict(self) -> dict[str, object]:
        """The answer as plain values."""
        return {"entities": self.entities, "betweenness_sampled_sources": self.sampled,
                "hubs": {kind: [h.to_dict() for h in hubs] for kind, hubs in self.by_kind.items()}}  # fmt: skip


def hubs(graph: nx.MultiDiGraph, kinds: tuple[str, ...] = DEFAULT_KINDS, top: int = 10) -> Hubs:
    """The ``top`` entities of each kind (``Symptom``, ``Condition``, ...) by degree, then betweenness,
    then label."""
    simple = nx.DiGraph(statements(graph))
    sampled = EXACT_LIMIT if simple.number_of_nodes() > EXACT_LIMIT else None
    betweenness = nx.betweenness_centrality(simple, k=sampled, seed=0 if sampled else None)
    by_kind: dict[str, list[Hub]] = {}
    for kind in kinds:
        found = [
            Hub(
                node,
                graph.nodes[node]["label"],
                kind,
                simple.degree(node),
                simple.in_degree(node),
                simple.out_degree(node),
                betweenness[node],
            )
            for node in simple
            if graph.nodes[node]["kind"] == kind
        ]
        found.sort(key=lambda h: (-h.degree, -h.betweenness, h.label.casefold(), h.entity))
        by_kind[kind] = found[:top]
    return Hubs(by_kind, simple.number_of_nodes(), sampled)
