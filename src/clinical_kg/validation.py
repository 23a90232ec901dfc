"""SHACL validation of the graph against the shipped shapes (pySHACL), with readable reports."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import pyoxigraph as ox
from pyshacl import validate
from pyshacl.graph_abstraction import DataGraph, OxigraphDataGraph, RdfLibDataGraph
from rdflib import RDF, SH, Dataset, Graph, URIRef
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.results import compact

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


def _set_default_union(self: DataGraph, value: bool) -> None:
    # pySHACL 0.40.1's setter tests ``if impl and ...``: a len() of the data graph.
    self._default_union = value
    impl = getattr(self, "impl", None)
    if not self.is_oxigraph and impl is not None and isinstance(impl, Dataset):
        impl.default_union = value


class _CheapTruth:
    """pySHACL's data graph, without the len() calls that its truth tests make.

    pySHACL 0.40.1 writes ``datagraph or sg`` (once per result, twice with a value) and
    ``if impl and ...`` (in the ``default_union`` setter, three times per validation), meaning
    "is not None". Each is a ``len()`` of the data graph: a full COUNT on Oxigraph (about 3 s
    at 1M triples). A data graph is always there, so it is always true here. Reported
    upstream: see docs/benchmarks.md.
    """

    def __bool__(self) -> bool:
        return True

    default_union = property(DataGraph.default_union.fget, _set_default_union)


class _RdfLibData(_CheapTruth, RdfLibDataGraph):
    pass


class _OxigraphData(_CheapTruth, OxigraphDataGraph):
    pass


def _data_graph(data: Graph | ox.Store) -> DataGraph:
    if isinstance(data, ox.Store):
        return _OxigraphData(data)
    return _RdfLibData(data.store, data)


def validate_graph(
    data: Graph | ox.Store, focus_nodes: list[Node] | None = None, skip_shapes: tuple[Node, ...] = ()
) -> Report:
    """Validate ``data`` (vocabulary and data together) against the shipped shapes.

    ``data`` is an rdflib graph or a pyoxigraph store (its default graph), validated in place:
    the shapes have no rules, so nothing is written to it, and it is not copied.
    ``focus_nodes`` limits validation to those nodes; ``skip_shapes`` leaves node shapes out.
    """
    # Not pySHACL's use_shapes: with focus_nodes it applies every chosen shape to every focus
    # node, ignoring the shapes' targets. Skipped shapes are left out of the shapes graph instead.
    kwargs = {"focus_nodes": focus_nodes} if focus_nodes else {}
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
        inplace=True,  # no copy of the data graph: the shapes have no sh:rule (a test checks)
        **kwargs,
    )
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


def severity_summary(severities: Iterable[str]) -> str:
    """Counts of results by severity, for people: "3 violations, 1 warning"."""
    counts = Counter(severities)
    return ", ".join(f"{n} {k.lower()}{'s' if n != 1 else ''}" for k, n in sorted(counts.items()))


def format_report(report: Report, labels: dict[Node, str]) -> str:
    """A readable report grouped by shape, with the labels of the focus nodes."""
    if not report.problems:
        return "The graph conforms to the shapes: no violations, no warnings.\n"
    by_shape: dict[tuple[str, Node], list[Problem]] = defaultdict(list)
    for problem in report.problems:
        by_shape[(problem.severity_name, problem.shape)].append(problem)
    lines = []
    for (severity, shape), problems in by_shape.items():
        lines.append(f"{severity}: {compact(shape)} ({len(problems)})")
        lines.append(f"  {problems[0].message}")
        for p in problems:
            label = labels.get(p.focus)
            focus = f"{compact(p.focus)}" + (f' "{label}"' if label else "")
            detail = f" {compact(p.path)}" if p.path is not None else ""
            detail += f" = {compact(p.value)}" if p.value is not None else ""
            lines.append(f"  - {focus}{detail}")
    summary = severity_summary(p.severity_name for p in report.problems)
    verdict = "conforms" if report.conforms else "does not conform"
    lines.append(f"\nThe graph {verdict}: {summary}.")
    return "\n".join(lines) + "\n"
