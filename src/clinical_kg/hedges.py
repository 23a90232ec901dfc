"""The hedge scale: how strongly a source makes a statement, and the weakest hedge of a chain.

The scale is data in the vocabulary (``ontology/clinical-kg.ttl``): each ``ckg:HedgeLevel`` has a
``ckg:rank`` (the higher, the stronger the claim) and the ``ckg:hedgeWord`` values that belong to
it. The catalogue queries read the same triples in SPARQL, so Python and SPARQL share one
definition. The rules, also in ``docs/data-model.md``:

- a statement without a hedge is stronger than every level;
- a hedge word that is not on the scale counts as the weakest (below every level), so an
  unplaced word never makes a claim look stronger (the shapes report such a word);
- a chain of statements is as strong as its weakest link; between links of equal strength, the
  first one (nearest the start of the chain) names the hedge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from rdflib import RDF, RDFS, Graph, Literal

from clinical_kg import resources
from clinical_kg.vocab import CKG

UNPLACED = 0
"""The strength of a hedge word that is not on the scale: below every level."""
FLAT = math.inf
"""The strength of a statement without a hedge: above every level."""


@dataclass(frozen=True)
class HedgeScale:
    """Hedge words with the rank of their level, and the levels' labels."""

    ranks: dict[str, int]
    levels: dict[int, str]

    def strength(self, hedge: str | None) -> float:
        """How strong a statement with this hedge is: its level's rank, FLAT without a hedge,
        UNPLACED for a word not on the scale."""
        if hedge is None or hedge == "":
            return FLAT
        return self.ranks.get(str(hedge), UNPLACED)

    def weakest(self, hedges: Iterable[str | None]) -> str | None:
        """The hedge of the weakest statement of a chain (the first of equal ones), or None when
        no statement is hedged."""
        weakest: str | None = None
        for hedge in hedges:
            if self.strength(hedge) < self.strength(weakest):
                weakest = str(hedge)
        return weakest


def scale_from(graph: Graph) -> HedgeScale:
    """The hedge scale declared in a graph that holds the vocabulary."""
    ranks: dict[str, int] = {}
    levels: dict[int, str] = {}
    for level in graph.subjects(RDF.type, CKG.HedgeLevel):
        rank = graph.value(level, CKG.rank)
        if not isinstance(rank, Literal):
            raise ValueError(f"the hedge level {level} has no ckg:rank")
        levels[int(rank)] = str(graph.value(level, RDFS.label) or "")
        for word in graph.objects(level, CKG.hedgeWord):
            ranks[str(word)] = int(rank)
    return HedgeScale(ranks=dict(sorted(ranks.items())), levels=dict(sorted(levels.items())))


@cache
def hedge_scale() -> HedgeScale:
    """The hedge scale of the shipped vocabulary."""
    return scale_from(Graph().parse(resources.vocabulary_file(), format="turtle"))
