"""Pictures: the neighbourhood of a term, and the vocabulary as a diagram (``ckg draw``; matplotlib).

**Neighbourhood.** The entities within ``depth`` statements of the term, either direction. A few
entities (pain, the lower back spasm) meet most statements, and walking through them would reach
most of the graph, so the walk does not go on through a hub (an entity linked to more than
:data:`HUB_DEGREE` others, the term itself excepted) and keeps at most ``max_nodes`` entities,
ranked at each step by how many of the entities already drawn they are linked to, then by how few
links they have in all (the more specific first). The picture says what it left out.

Nodes are coloured by class; edges are coloured by the kind of relation, drawn dashed when the
statement is hedged (the record that states it most strongly has a hedge) and dotted when a source
denies it; a legend explains both. SVG keeps its text as text (so the labels can be searched),
and both formats carry no date, so the same graph gives the same file.

**Schema.** The classes of the vocabulary and the relations between them (each relation from each
class of its ``rdfs:domain`` to each class of its ``rdfs:range``; inverse relations, whose
definition reads "Inverse of ...", are left out), one arrow per pair of classes labelled with the
relations it stands for; relations from a class to itself are listed under its name.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from clinical_kg.analysis.network import CKG, compact, label, local_name, statements
from clinical_kg.errors import InputError

if TYPE_CHECKING:
    from rdflib import Graph

HUB_DEGREE = 12
"""An entity linked to more others than this is a hub: shown, but not walked through."""
FORMATS = (".svg", ".png")

KIND_COLOURS = {
    "Condition": "#d62728",
    "Symptom": "#1f77b4",
    "Cause": "#ff7f0e",
    "Treatment": "#2ca02c",
    "DiagnosticTest": "#9467bd",
    "AnatomicalLocation": "#8c564b",
    "Concept": "#bcbd22",
    "": "#7f7f7f",
}
RELATION_FAMILIES = {
    "causal": ("#8b0000", ("causes", "contributesTo", "aggravates", "riskFactorFor")),
    "presentation": ("#1f4e9c", ("hasSymptom",)),
    "red flag": ("#e377c2", ("redFlagFor",)),
    "treatment and prevention": (
        "#2e7d32",
        ("treats", "relievesSymptomsOf", "treatsCauseOf", "prevents", "hasAdverseEffect", "noMoreEffectiveThan"),
    ),
    "diagnosis": ("#9467bd", ("diagnoses",)),
    "location": ("#8c564b", ("locatedIn", "radiatesTo", "mostOftenAffects")),
}
OTHER_FAMILY = ("other", "#555555")


def relation_family(relation: str) -> tuple[str, str]:
    """(family name, colour) of a relation IRI."""
    name = local_name(relation)
    for family, (colour, members) in RELATION_FAMILIES.items():
        if name in members:
            return family, colour
    return OTHER_FAMILY


@dataclass(frozen=True)
class Neighbourhood:
    """The entities drawn around a term, the statements among them, and what was left out."""

    term: str
    graph: nx.MultiDiGraph
    depth: dict[str, int]
    hubs: dict[str, int]
    """Hubs that were not walked through, with how many of their neighbours are not drawn."""
    left_out: int
    """How many entities within the depth are not drawn."""


def neighbourhood(graph: nx.MultiDiGraph, term: str, depth: int = 2, max_nodes: int = 30) -> Neighbourhood:
    """The entities within ``depth`` statements of ``term`` (see the module docstring for the pruning)."""
    view = statements(graph)
    everything = nx.MultiDiGraph(view)
    for u, v, key, data in graph.edges(keys=True, data=True):
        if data["kind"] == "statement" and data["negated"]:
            everything.add_edge(u, v, key=key, **data)
    if term not in everything:
        everything.add_node(term)
    undirected = everything.to_undirected(as_view=True)
    drawn = {term: 0}
    hubs: dict[str, int] = {}
    frontier = [term]
    for step in range(1, depth + 1):
        links: dict[str, int] = defaultdict(int)
        family: dict[str, str] = {}
        for node in frontier:
            neighbours = set(undirected.neighbors(node)) - {node}
            if node != term and len(neighbours) > HUB_DEGREE:
                hubs[node] = len(neighbours - set(drawn))
                continue
            for other in sorted(neighbours - set(drawn)):
                links[other] += 1
                relation = min(d["relation"] for d in undirected.get_edge_data(node, other).values())
                family.setdefault(other, relation_family(relation)[0])
        frontier = _take(links, family, undirected, graph, max(0, max_nodes - len(drawn)))
        drawn.update({n: step for n in frontier})
    reach = nx.single_source_shortest_path_length(undirected, term, cutoff=depth)
    sub = nx.MultiDiGraph(everything.subgraph(drawn))
    for node in sub:
        sub.nodes[node].update(graph.nodes[node] if node in graph else {"label": compact(node), "kind": ""})
    return Neighbourhood(term, sub, drawn, hubs, len(set(reach) - set(drawn)))


def _take(links: dict[str, int], family: dict[str, str], undirected: Any, graph: nx.MultiDiGraph, n: int) -> list[str]:
    """The ``n`` best candidates: taken in turn from each kind of relation that links them (so that
    treatments do not crowd out causes and symptoms), each kind best-linked first, then the
    better-connected, then by label."""
    order = [*RELATION_FAMILIES, OTHER_FAMILY[0]]
    queues = {
        f: sorted((c for c in links if family[c] == f),
                  key=lambda c: (-links[c], -undirected.degree(c), label(graph, c).casefold(), c))
        for f in order
    }  # fmt: skip
    taken: list[str] = []
    while len(taken) < n and any(queues.values()):
        for f in order:
            if queues[f] and len(taken) < n:
                taken.append(queues[f].pop(0))
    return taken


def pyplot() -> Any:
    """matplotlib's pyplot, drawing without a display (an error naming the extra when it is missing)."""
    try:
        import matplotlib
    except ImportError:
        raise InputError(
            "drawing needs matplotlib, which is not installed", hint='pip install "clinical-kg[draw]"'
        ) from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text
    matplotlib.rcParams["svg.hashsalt"] = "clinical-kg"  # the same ids on every run
    import matplotlib.pyplot as plt

    return plt


def picture_format(out: Path) -> str:
    """``svg`` or ``png``, from the file name (an error for any other)."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{out}: cannot tell the picture format from the name", hint="name it .svg or .png")
    return suffix[1:]


def _render(figure: Any, fmt: str) -> bytes:
    """The figure as SVG or PNG bytes, without a date, so the same picture gives the same bytes."""
    if fmt not in ("svg", "png"):
        raise InputError(f"cannot draw {fmt!r}", hint="draw svg or png")
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    figure.savefig(buffer, format=fmt, metadata=metadata, bbox_inches="tight", dpi=110)
    return buffer.getvalue()


def write_atomically(out: Path, data: bytes) -> Path:
    """Write ``data`` to ``out`` through a temporary file beside it, so a failed write leaves nothing half-done."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _words(name: str) -> str:
    """ "AnatomicalLocation" -> "anatomical location"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _wrap(text: str, width: int = 18) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _hedged(data: dict) -> bool:
    """Whether every record of a statement is hedged (one stating it flatly makes it flat)."""
    return bool(data["records"]) and all(r.hedge for r in data["records"])


def draw_neighbourhood(graph: nx.MultiDiGraph, term: str, out: Path, depth: int = 2, max_nodes: int = 30) -> Path:
    """Draw the neighbourhood of ``term`` into ``out`` (``.svg`` or ``.png``)."""
    return write_atomically(out, render_neighbourhood(graph, term, picture_format(out), depth, max_nodes))


def render_neighbourhood(
    graph: nx.MultiDiGraph, term: str, fmt: str = "svg", depth: int = 2, max_nodes: int = 30
) -> bytes:
    """The neighbourhood of ``term`` drawn as ``svg`` or ``png`` bytes."""
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    hood = neighbourhood(graph, term, depth, max_nodes)
    sub = hood.graph
    shells = [[n for n in sorted(hood.depth, key=lambda n: label(graph, n).casefold()) if hood.depth[n] == d]
              for d in range(depth + 1)]  # fmt: skip
    rings = nx.shell_layout(sub, [s for s in shells if s], rotate=0.3)
    positions = nx.spring_layout(sub.to_undirected(as_view=True), pos=rings, fixed=[term], seed=0, iterations=60,
                                 k=2.0 / max(1, len(sub)) ** 0.5)  # fmt: skip
    figure, axes = plt.subplots(figsize=(13, 10))
    axes.set_axis_off()
    kinds = sorted({sub.nodes[n].get("kind", "") for n in sub}, key=lambda k: (k == "", k))
    for kind in kinds:
        nodes = [n for n in sub if sub.nodes[n].get("kind", "") == kind]
        sizes = [1400 if n == term else 700 for n in nodes]
        nx.draw_networkx_nodes(sub, positions, nodelist=nodes, node_color=KIND_COLOURS.get(kind, "#7f7f7f"),
                               node_size=sizes, alpha=0.85, ax=axes)  # fmt: skip
    families: set[str] = set()
    styles: set[str] = set()
    for u, v, key, data in sorted(sub.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2])):
        family, colour = relation_family(data["relation"])
        families.add(family)
        style = ":" if data["negated"] else ("--" if _hedged(data) else "-")
        styles.add(style)
        parallel = sorted(k for k in sub[u][v]) if sub.has_edge(u, v) else [key]
        bend = 0.08 * (parallel.index(key) + (1 if sub.has_edge(v, u) else 0))
        nx.draw_networkx_edges(sub, positions, edgelist=[(u, v)], edge_color=colour, style=style, width=1.4,
                               arrows=True, arrowsize=12, node_size=900, connectionstyle=f"arc3,rad={bend}",
                               ax=axes)  # fmt: skip
        name = ("not " if data["negated"] else "") + local_name(data["relation"])
        nx.draw_networkx_edge_labels(sub, positions, edge_labels={(u, v): name}, font_size=6, font_color=colour,
                                     connectionstyle=f"arc3,rad={bend}", label_pos=0.5, rotate=False,
                                     bbox={"alpha": 0.6, "color": "white", "lw": 0}, ax=axes)  # fmt: skip
    labels = {n: _wrap(sub.nodes[n].get("label", compact(n))) for n in sub}
    nx.draw_networkx_labels(sub, positions, labels=labels, font_size=8, ax=axes)
    handles = [Patch(color=KIND_COLOURS.get(k, "#7f7f7f"), label=_words(k or "other")) for k in kinds]
    handles += [Line2D([], [], color=c, label=f) for f, (c, _) in RELATION_FAMILIES.items() if f in families]
    if OTHER_FAMILY[0] in families:
        handles.append(Line2D([], [], color=OTHER_FAMILY[1], label=OTHER_FAMILY[0]))
    handles.append(Line2D([], [], color="black", linestyle="-", label="stated flatly"))
    handles.append(Line2D([], [], color="black", linestyle="--", label="hedged (may, can, often, ...)"))
    if ":" in styles:
        handles.append(Line2D([], [], color="black", linestyle=":", label="denied by the source"))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    title = f"{label(graph, term)}: statements within {depth} link{'s' if depth > 1 else ''}"
    notes = []
    if hood.hubs:
        notes.append("not walked through (hubs): " + ", ".join(
            f"{label(graph, h)} (+{n})" for h, n in sorted(hood.hubs.items(), key=lambda x: -x[1])))  # fmt: skip
    if hood.left_out:
        notes.append(f"{hood.left_out} more entities within {depth} links not drawn")
    axes.set_title(title + ("\n" + _wrap("; ".join(notes), 140) if notes else ""), fontsize=10)
    try:
        return _render(figure, fmt)
    finally:
        plt.close(figure)


# The schema --------------------------------------------------------------------------------------

_SCHEMA_PLACES = {
    "Cause": (0.0, 3.0), "Condition": (4.5, 0.6), "Symptom": (9.0, 3.0), "Treatment": (4.5, -2.6),
    "DiagnosticTest": (0.0, -1.6), "AnatomicalLocation": (9.0, -1.6), "Assertion": (4.5, 6.0),
    "SourceDocument": (0.0, 6.6), "Agent": (9.0, 7.0), "UrgencyLevel": (9.0, 5.4), "ClinicalEntity": (0.0, 5.0),
    "Concept": (-0.6, 8.6), "Resource": (6.8, 8.4),  # the value terms and references of database records
}  # fmt: skip

_SCHEMA_QUERY = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?property ?domain ?range WHERE {
  ?property a owl:ObjectProperty .
  FILTER NOT EXISTS { ?property skos:definition ?definition . FILTER (STRSTARTS(STR(?definition), "Inverse of")) }
  { ?property rdfs:domain/owl:unionOf/rdf:rest*/rdf:first ?domain }
  UNION { ?property rdfs:domain ?domain . FILTER (isIRI(?domain)) }
  { ?property rdfs:range/owl:unionOf/rdf:rest*/rdf:first ?range }
  UNION { ?property rdfs:range ?range . FILTER (isIRI(?range)) }
}
"""
_LITERAL_QUERY = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?property WHERE { ?property a owl:DatatypeProperty ; rdfs:domain ckg:Assertion }
"""
_SUBCLASS_QUERY = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?class ?parent WHERE { ?class a owl:Class ; rdfs:subClassOf ?parent . FILTER (isIRI(?parent)) }
"""


def schema_relations(vocabulary: Graph) -> dict[tuple[str, str], list[str]]:
    """The vocabulary's relations by (domain class, range class), as local names."""
    pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for prop, domain, range_ in vocabulary.query(_SCHEMA_QUERY):
        pairs[(local_name(str(domain)), local_name(str(range_)))].add(local_name(str(prop)))
    return {pair: sorted(names) for pair, names in sorted(pairs.items())}


def draw_schema(vocabulary: Graph, out: Path) -> Path:
    """Draw the vocabulary's classes and relations into ``out`` (``.svg`` or ``.png``)."""
    return write_atomically(out, render_schema(vocabulary, picture_format(out)))


def render_schema(vocabulary: Graph, fmt: str = "svg") -> bytes:
    """The vocabulary's classes and relations drawn as ``svg`` or ``png`` bytes."""
    plt = pyplot()

    pairs = schema_relations(vocabulary)
    subclasses: dict[str, list[str]] = defaultdict(list)
    for cls, parent in vocabulary.query(_SUBCLASS_QUERY):
        if str(cls).startswith(CKG) and str(parent).startswith(CKG):
            subclasses[local_name(str(parent))].append(local_name(str(cls)))
    schema = nx.MultiDiGraph()
    loops: dict[str, list[str]] = defaultdict(list)
    for (domain, range_), names in pairs.items():
        schema.add_node(domain)
        schema.add_node(range_)
        if domain == range_:
            loops[domain] += names
        else:
            schema.add_edge(domain, range_, names=names)
    extra = sorted(n for n in schema if n not in _SCHEMA_PLACES)
    positions = dict(_SCHEMA_PLACES)
    positions.update({n: (2.0 * i, -2.4) for i, n in enumerate(extra)})
    positions = {n: positions[n] for n in schema}
    figure, axes = plt.subplots(figsize=(16, 12))
    axes.set_axis_off()
    for node in schema:
        colour = KIND_COLOURS.get(node, "#dddddd")
        nx.draw_networkx_nodes(schema, positions, nodelist=[node], node_color=colour, node_size=2600, alpha=0.35,
                               ax=axes)  # fmt: skip
        text = f"ckg:{node}"
        if subclasses.get(node) and node != "ClinicalEntity":
            text += "\n(" + _wrap(", ".join(sorted(subclasses[node])), 30) + ")"
        if loops.get(node):
            text += "\n↻ " + _wrap(", ".join(loops[node]), 30)
        x, y = positions[node]
        if node == "Assertion":
            values = sorted(local_name(str(p)) for (p,) in vocabulary.query(_LITERAL_QUERY))
            record = "a record of each clinical statement: rdf:subject, rdf:predicate, rdf:object;\n"
            axes.text(x, y - 0.75, record + _wrap(", ".join(values), 70), ha="center", va="top", fontsize=7)
        axes.text(x, y, text, ha="center", va="center", fontsize=8, fontweight="bold" if node in KIND_COLOURS else None)
    for u, v, data in schema.edges(data=True):
        families = [relation_family(CKG + name) for name in data["names"]]
        _family, colour = max(families, key=families.count)
        bend = 0.2 if schema.has_edge(v, u) else 0.0
        nx.draw_networkx_edges(schema, positions, edgelist=[(u, v)], edge_color=colour, width=1.3, arrows=True,
                               arrowsize=14, node_size=2600, connectionstyle=f"arc3,rad={bend}", ax=axes)  # fmt: skip
        nx.draw_networkx_edge_labels(schema, positions, edge_labels={(u, v): _wrap(", ".join(data["names"]), 28)},
                                     font_size=7, font_color=colour, connectionstyle=f"arc3,rad={bend}",
                                     bbox={"alpha": 0.8, "color": "white", "lw": 0}, ax=axes)  # fmt: skip
    axes.set_title("clinical-kg vocabulary: classes (ckg:) and the relations between them (rdfs:domain → rdfs:range)",
                   fontsize=11)  # fmt: skip
    try:
        return _render(figure, fmt)
    finally:
        plt.close(figure)
