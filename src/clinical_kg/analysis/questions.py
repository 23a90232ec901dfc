"""The analyses as questions asked in words: what ``ckg``, the endpoint and the Python API share.

Each function takes the loaded graph and what a user typed (labels, synonyms, codes, CURIEs or
IRIs, resolved as catalogue parameters are), checks it, and returns the answer, which holds the
networkx graph it was computed on (for labels).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import URIRef

from clinical_kg.analysis.differential import Differential, differential
from clinical_kg.analysis.hubs import DEFAULT_KINDS, Hubs, hubs
from clinical_kg.analysis.network import CKG, clinical_graph, compact, urgency_levels
from clinical_kg.analysis.paths import CHAIN_RELATIONS, DEFAULT_RELATIONS, PathAnswer, explanation_paths
from clinical_kg.errors import InputError

if TYPE_CHECKING:
    from clinical_kg.store import KnowledgeGraph
    from clinical_kg.terms import TermIndex

CLASS_NAMES = {"symptom": "Symptom", "condition": "Condition", "cause": "Cause", "treatment": "Treatment",
               "test": "DiagnosticTest", "location": "AnatomicalLocation"}  # fmt: skip
"""The classes ``hubs`` takes, by the names a user gives."""


def _index(kg: KnowledgeGraph, index: TermIndex | None) -> TermIndex:
    from clinical_kg.terms import TermIndex

    return index if index is not None else TermIndex(kg)


def resolve(index: TermIndex, text: str, parameter: str, expected: str | None = None) -> str:
    """The IRI of the one entity ``text`` names (an error naming the closest labels otherwise)."""
    return str(index.resolve(text, parameter=parameter, expected=URIRef(expected) if expected else None))


def chain_relations(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Relation names (``ckg:causes``, ``causes`` or the IRI) as IRIs a path may follow; the default when none."""
    if not names:
        return DEFAULT_RELATIONS
    by_name = {n: r for r in CHAIN_RELATIONS for n in (r, compact(r), compact(r).removeprefix("ckg:"))}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a relation a path may follow",
                         hint="choose among " + ", ".join(compact(r) for r in CHAIN_RELATIONS))  # fmt: skip
    return tuple(dict.fromkeys(by_name[n] for n in names))


def chosen_sources(kg: KnowledgeGraph, names: list[str] | tuple[str, ...]) -> set[str] | None:
    """The sources ``names`` name, as the catalogue's ``source`` parameter resolves them
    (:func:`clinical_kg.sources.resolve_sources`: ``curated``, a series such as ``hpoa`` for each of
    its releases, a source's IRI, CURIE or title); None (every source) when none is named."""
    if not names:
        return None
    from clinical_kg.sources import resolve_sources

    return {str(source) for text in names for source in resolve_sources(kg, text, parameter="--source")}


def ask_path(
    kg: KnowledgeGraph,
    start: str,
    end: str,
    max_length: int = 2,
    relations: list[str] | tuple[str, ...] = (),
    k: int = 3,
    index: TermIndex | None = None,
) -> PathAnswer:
    """The ``k`` best explanation paths from ``start`` to ``end`` (:mod:`.paths`)."""
    if not 1 <= max_length <= 6:
        raise InputError(f"a path has 1 to 6 links, not {max_length}", hint="give --max-length 1 to 6")
    if k < 1:
        raise InputError(f"ask for at least one path, not {k}")
    index = _index(kg, index)
    source, target = resolve(index, start, "FROM"), resolve(index, end, "TO")
    graph = clinical_graph(kg)
    return explanation_paths(graph, source, target, max_length, chain_relations(relations), k)


def ask_differential(
    kg: KnowledgeGraph,
    symptoms: list[str] | tuple[str, ...],
    top: int = 10,
    sources: list[str] | tuple[str, ...] = (),
    index: TermIndex | None = None,
) -> Differential:
    """Conditions ranked by how well they explain ``symptoms`` (:mod:`.differential`)."""
    if not symptoms:
        raise InputError("give at least one symptom", hint='for example: ckg differential numbness "leg pain"')
    if top < 1:
        raise InputError(f"ask for at least one condition, not {top}")
    index = _index(kg, index)
    given = [resolve(index, text, "SYMPTOM", CKG + "Symptom") for text in symptoms]
    chosen = chosen_sources(kg, sources)
    graph = clinical_graph(kg)
    return differential(graph, given, top, chosen, urgency_levels(kg))


def ask_hubs(kg: KnowledgeGraph, classes: list[str] | tuple[str, ...] = (), top: int = 10) -> Hubs:
    """The best-connected entities of each class (:mod:`.hubs`); classes by the names of :data:`CLASS_NAMES`."""
    unknown = [c for c in classes if c not in CLASS_NAMES]
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a class hubs are counted for", hint="choose among "
                         + ", ".join(CLASS_NAMES))  # fmt: skip
    kinds = tuple(CLASS_NAMES[c] for c in classes) or DEFAULT_KINDS
    return hubs(clinical_graph(kg), kinds, top)


def ask_drawing(
    kg: KnowledgeGraph, term: str, fmt: str = "svg", depth: int = 2, max_nodes: int = 30,
    index: TermIndex | None = None,
) -> bytes:  # fmt: skip
    """The neighbourhood of ``term`` drawn as SVG or PNG bytes (:mod:`.draw`)."""
    from clinical_kg.analysis.draw import render_neighbourhood

    if not 1 <= depth <= 4 or not 2 <= max_nodes <= 200:
        raise InputError("draw 1 to 4 links deep and 2 to 200 entities")
    iri = resolve(_index(kg, index), term, "TERM")
    return render_neighbourhood(clinical_graph(kg), iri, fmt, depth, max_nodes)


def draw_to_file(kg: KnowledgeGraph, term: str, out: Path, depth: int = 2, max_nodes: int = 30) -> Path:
    """Write the neighbourhood of ``term`` to ``out`` (.svg or .png)."""
    from clinical_kg.analysis.draw import picture_format, write_atomically

    fmt = picture_format(out)
    return write_atomically(out, ask_drawing(kg, term, fmt, depth, max_nodes))
