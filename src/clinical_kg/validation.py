"""SHACL validation of the graph against the shipped shapes (pySHACL), with readable reports."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from pyshacl import validate
from pyshacl.constraints.core.shape_based_constraints import PropertyConstraintComponent
from pyshacl.graph_abstraction import DataGraph, OxigraphDataGraph, to_ox
from pyshacl.shape import Shape
from rdflib import RDF, SH, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.results import compact

if TYPE_CHECKING:
    from clinical_kg.store import KnowledgeGraph

SEVERITY_ORDER = {SH.Violation: 0, SH.Warning: 1, SH.Info: 2}


@dataclass(frozen=True)
class Problem:
    """One result of a SHACL report."""

    severity: URIRef
    focus: Node
    shape: Node
    path: Node | None
    value: Node | None
    message: str

    @property
    def severity_name(self) -> str:
        """'Violation', 'Warning' or 'Info'."""
        return str(self.severity).rsplit("#", 1)[-1]


@dataclass
class Report:
    """The outcome of a validation: the problems found and the report graph."""

    problems: list[Problem]
    graph: Graph

    @property
    def conforms(self) -> bool:
        """True when there is no violation (warnings and infos do not count)."""
        return not any(p.severity == SH.Violation for p in self.problems)


@cache
def shapes_graph(skip: tuple[Node, ...] = ()) -> Graph:
    """All shape files merged into one graph, less the node shapes in ``skip`` (and what they hold)."""
    graph = Graph()
    for path in resources.shape_files():
        graph.parse(path, format="turtle")
    for shape in skip:
        graph -= graph.cbd(shape)
    return graph


class _OxigraphData(OxigraphDataGraph):
    """pySHACL's Oxigraph data graph, without the len() calls that its truth tests make.

    pySHACL 0.40.1 writes ``datagraph or sg`` (once per result, twice with a value) and
    ``if impl and ...`` (in the ``default_union`` setter, three times per validation), meaning
    "is not None". Each is a ``len()`` of the data graph: a full COUNT on Oxigraph (about 3 s
    at 1M triples). A data graph is always there, so it is always true here. Reported
    upstream: see docs/benchmarks.md.
    """

    def __bool__(self) -> bool:
        return True

    def _set_default_union(self, value: bool) -> None:
        # pySHACL's setter tests ``if impl and isinstance(impl, Dataset)``; on a store only the flag matters
        self._default_union = value

    default_union = property(DataGraph.default_union.fget, _set_default_union)


_ONLY_FOCUS: ContextVar[frozenset[Node] | None] = ContextVar("clinical_kg_only_focus", default=None)
_pyshacl_focus_nodes = Shape.focus_nodes


def _focus_nodes(self: Shape, data_graph: DataGraph, debug: bool = False) -> set[Node]:
    """A shape's targets in the data graph, less those outside the focus nodes of the current validation.

    pySHACL's own ``focus_nodes`` option filters the value nodes of nested shapes too (those of
    ``sh:qualifiedValueShape``, ``sh:node``, ``sh:not``... are then never checked, so such a
    constraint passes whatever the data) and drops blank nodes. Here only the targets of the
    top-level shapes are filtered: pySHACL asks ``Shape.focus_nodes`` for them alone (nested
    shapes are handed their value nodes), so the focus nodes get every result a whole-graph
    validation gives them, and nothing else is validated.
    """
    found = _pyshacl_focus_nodes(self, data_graph, debug=debug)
    only = _ONLY_FOCUS.get()
    return found if only is None else {node for node in found if node in only}


Shape.focus_nodes = _focus_nodes  # type: ignore[method-assign]  # unchanged unless validate_graph sets _ONLY_FOCUS

_IN_VALIDATE_GRAPH: ContextVar[bool] = ContextVar("clinical_kg_in_validate_graph", default=False)
_pyshacl_evaluate_property_shape = PropertyConstraintComponent._evaluate_property_shape


def _evaluate_property_shape(
    self: PropertyConstraintComponent,
    executor: Any,
    prop_shape: Node,
    target_graph: Any,
    focus_value_nodes: dict[Node, set[Node]],
    potentially_recursive: Any,
    _evaluation_path: list[Any],
) -> tuple[bool, list[Any]]:
    """An ``sh:property`` shape checked once for all the value nodes, not once for each.

    pySHACL calls the property shape's ``validate`` for every value node, and each call reads
    the shape's parameters from the shapes graph and builds its constraint components afresh:
    about 100 µs, 20 s of a full validation at 100k triples (211,801 calls). ``validate`` takes
    a list of focus nodes and checks each on its own, so one call gives the same results.
    Where a value node would be checked twice (it is a value of two focus nodes, and pySHACL
    then reports it twice) pySHACL's own loop runs.
    """
    values = [value for nodes in focus_value_nodes.values() for value in nodes]
    found = self.shape.get_other_shape(prop_shape)
    if (
        not _IN_VALIDATE_GRAPH.get()
        or not values
        or len(set(values)) != len(values)
        or not found
        or not found.is_property_shape
        or (potentially_recursive and found in potentially_recursive)
    ):
        return _pyshacl_evaluate_property_shape(
            self, executor, prop_shape, target_graph, focus_value_nodes, potentially_recursive, _evaluation_path
        )
    conforms, reports = found.validate(executor, target_graph, focus=values, _evaluation_path=_evaluation_path[:])
    return not conforms, reports


PropertyConstraintComponent._evaluate_property_shape = _evaluate_property_shape  # type: ignore[method-assign]  # only inside validate_graph


def oxigraph_copy(graph: Graph) -> ox.Store:
    """An in-memory Oxigraph store holding the triples of ``graph`` (blank nodes keep their ids)."""
    store = ox.Store()
    store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph()) for s, p, o in graph)
    return store


def _data_graph(data: Graph | ox.Store) -> DataGraph:
    if isinstance(data, Graph):
        # pySHACL's SPARQL targets and constraints select from the whole graph: rdflib's engine
        # takes 0.3 s for a 2,000-triple candidate neighbourhood and minutes at 100k triples,
        # Oxigraph milliseconds and seconds. The copy costs about 10 ms per 2,000 triples.
        if isinstance(data.store, OxigraphStore) and data.identifier == DATASET_DEFAULT_GRAPH_ID:
            data = data.store._inner  # an oxrdflib view of a store's default graph (`kg.graph`): the store
        else:
            data = oxigraph_copy(data)
    return _OxigraphData(data)


def validate_graph(
    data: Graph | ox.Store,
    focus_nodes: Iterable[Node] | None = None,
    skip_shapes: tuple[Node, ...] = (),
) -> Report:
    """Validate ``data`` (vocabulary and data together) against the shipped shapes.

    ``data`` is a pyoxigraph store (its default graph), validated in place (the shapes have no
    rules, so nothing is written to it), or an rdflib graph, validated as an in-memory Oxigraph
    copy (none for an oxrdflib view of a store's default graph).
    ``focus_nodes`` limits validation to those of the shapes' targets (the results are those
    a whole-graph validation gives these nodes); ``skip_shapes`` leaves node shapes out.
    """
    # Not pySHACL's use_shapes: with focus_nodes it applies every chosen shape to every focus
    # node, ignoring the shapes' targets. Skipped shapes are left out of the shapes graph instead.
    # Nor pySHACL's focus_nodes: see _focus_nodes.
    token = _ONLY_FOCUS.set(frozenset(focus_nodes) if focus_nodes is not None else None)
    batched = _IN_VALIDATE_GRAPH.set(True)
    try:
        _conforms, report_graph, _text = validate(
            data_graph=_data_graph(data),
            shacl_graph=shapes_graph(tuple(skip_shapes)),
            ont_graph=None,
            inference="none",
            advanced=True,
            meta_shacl=False,
            allow_warnings=True,
            do_owl_imports=False,
            js=False,
            inplace=True,  # pySHACL makes no copy of its own: the shapes have no sh:rule (a test checks)
        )
    finally:
        _IN_VALIDATE_GRAPH.reset(batched)
        _ONLY_FOCUS.reset(token)
    problems = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        problems.append(
            Problem(
                severity=report_graph.value(result, SH.resultSeverity),
                focus=report_graph.value(result, SH.focusNode),
                shape=report_graph.value(result, SH.sourceShape),
                path=report_graph.value(result, SH.resultPath),
                value=report_graph.value(result, SH.value),
                message=str(report_graph.value(result, SH.resultMessage) or ""),
            )
        )
    problems.sort(key=lambda p: (SEVERITY_ORDER.get(p.severity, 3), str(p.shape), str(p.focus), str(p.value)))
    return Report(problems, report_graph)


def validate_kg(kg: KnowledgeGraph) -> Report:
    """Validate the whole graph of ``kg`` (vocabulary and data), as ``ckg validate`` does.

    An on-disk Oxigraph store is copied into memory first when the copy fits in the memory
    available (:func:`clinical_kg.store.fits_in_memory`): pySHACL makes hundreds of thousands
    of single lookups, several times slower on disk (1M triples: 262 s on disk against 49 s in
    memory, issue 18). Otherwise it is validated where it is, with the same results.
    """
    from clinical_kg.store import OxigraphKnowledgeGraph, fits_in_memory

    if isinstance(kg, OxigraphKnowledgeGraph) and kg.path is not None and fits_in_memory(kg.path):
        return validate_graph(kg.in_memory().store)
    return validate_graph(kg.graph)  # on Oxigraph, the store itself: no copy


def severity_summary(severities: Iterable[str]) -> str:
    """Counts of results by severity, for people: "3 violations, 1 warning"."""
    counts = Counter(severities)
    return ", ".join(f"{n} {k.lower()}{'s' if n != 1 else ''}" for k, n in sorted(counts.items()))


SHOWN_PER_RULE = 3  # warnings and infos of one rule listed by default; the rest are counted


def format_report(report: Report, labels: dict[str, str], verbose: bool = False) -> str:
    """A readable report grouped by shape, with the labels of the focus nodes (``labels``: by IRI, as text).

    Every violation is listed; of the warnings and infos of one rule, the first few and how
    many more there are, unless ``verbose``.
    """
    if not report.problems:
        return "The graph conforms to the shapes: no violations, no warnings.\n"
    by_shape: dict[tuple[str, Node], list[Problem]] = defaultdict(list)
    for problem in report.problems:
        by_shape[(problem.severity_name, problem.shape)].append(problem)
    lines = []
    summarised = False
    for (severity, shape), problems in by_shape.items():
        lines.append(f"{severity}: {compact(shape)} ({len(problems)})")
        lines.append(f"  {problems[0].message}")
        shown = problems if verbose or severity == "Violation" else problems[:SHOWN_PER_RULE]
        for p in shown:
            label = labels.get(str(p.focus))  # labels by IRI, as text
            focus = f"{compact(p.focus)}" + (f' "{label}"' if label else "")
            detail = f" {compact(p.path)}" if p.path is not None else ""
            detail += f" = {compact(p.value)}" if p.value is not None else ""
            lines.append(f"  - {focus}{detail}")
        if len(shown) < len(problems):
            lines.append(f"  ... and {len(problems) - len(shown)} more")
            summarised = True
    summary = severity_summary(p.severity_name for p in report.problems)
    verdict = "conforms" if report.conforms else "does not conform"
    lines.append(f"\nThe graph {verdict}: {summary}.")
    if summarised:
        lines.append("--verbose lists every warning.")
    return "\n".join(lines) + "\n"
