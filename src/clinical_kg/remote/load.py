"""``ckg load --endpoint``: put the graph on an external SPARQL server, replacing what a load put there.

In the layout of :mod:`clinical_kg.remote`, in four steps:

1. the load record (graph ``ckgds:#load``) is replaced by one that says a load started, so
   that every reader refuses the dataset until the load has ended, rather than answer from a
   mix of old and new graphs;
2. each file's graph is replaced: an HTTP PUT to the Graph Store (``--graph-store``) or, without
   one, a SPARQL Update that drops the graph and inserts its triples (``INSERT {} WHERE {}``:
   Virtuoso refuses blank nodes in ``INSERT DATA``);
3. one SPARQL Update rebuilds the union graph ``ckgds:`` from the file graphs (``ADD``, done by
   the server, which keeps one copy of a triple two files hold), drops the graphs of an earlier
   load that this one no longer has, and writes the finished load record.

So loading twice replaces, never appends. Files are sent as N-Triples, which every server
parses alike. The graph of a file is the one the N-Quads export gives it (:func:`file_graphs`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import pyoxigraph as ox

from clinical_kg import __version__
from clinical_kg.errors import InputError
from clinical_kg.layout import declared_graph, stem_graph
from clinical_kg.remote import DATASET, LOAD_GRAPH, UNION_GRAPH, SparqlKnowledgeGraph, read_parts
from clinical_kg.remote.config import Endpoint
from clinical_kg.remote.protocol import EndpointError
from clinical_kg.store import open_binary, rdf_format

_DATE_TIME = "http://www.w3.org/2001/XMLSchema#dateTime"
Progress = Callable[[str, int], None]
"""Called with (graph IRI, triples) as each graph is sent."""


def file_graphs(path: Path) -> dict[str, list[ox.Triple]]:
    """The triples of a Turtle, N-Triples or N-Quads file (maybe gzipped) by the graph they go into.

    As in the N-Quads export and every store (:mod:`clinical_kg.layout`): a file declaring an
    ``owl:Ontology`` or a ``dcat:Dataset`` goes into that node's graph, any other into
    ``ckgds:<name>`` (the file name without its extensions); an N-Quads file keeps its graphs (its
    default-graph quads go into ``ckgds:<name>``).
    """
    try:
        fmt, gz = rdf_format(path)
    except InputError:
        fmt, gz = ox.RdfFormat.TURTLE, False
    name = stem_graph(path)
    graphs: dict[str, list[ox.Triple]] = defaultdict(list)
    raw, stream = open_binary(path, gz)
    try:
        with raw, stream:
            for statement in ox.parse(stream, format=fmt):
                graph = getattr(statement, "graph_name", None)
                key = graph.value if isinstance(graph, ox.NamedNode) else name
                graphs[key].append(ox.Triple(statement.subject, statement.predicate, statement.object))
    except SyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None
    if fmt != ox.RdfFormat.N_QUADS and name in graphs:
        declared = declared_graph(graphs[name])
        if declared is not None:
            graphs[declared] = graphs.pop(name)
    return dict(graphs)


def _record(parts: Sequence[str], started: str, ended: str | None) -> str:
    """The load record as N-Triples."""
    prov, load = "http://www.w3.org/ns/prov#", f"<{LOAD_GRAPH}>"
    lines = [f"<{DATASET}> <http://purl.org/dc/terms/hasPart> <{part}> ." for part in parts]
    lines += [
        f"<{DATASET}> <{prov}wasGeneratedBy> {load} .",
        f"{load} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{prov}Activity> .",
        f'{load} <http://www.w3.org/2000/01/rdf-schema#label> "ckg load (clinical-kg {__version__})" .',
        f'{load} <{prov}startedAtTime> "{started}"^^<{_DATE_TIME}> .',
    ]
    if ended is not None:
        lines.append(f'{load} <{prov}endedAtTime> "{ended}"^^<{_DATE_TIME}> .')
    return "\n".join(lines) + "\n"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _replace(graph: str, body: str) -> str:
    """The SPARQL Update that replaces ``graph`` with the N-Triples ``body``."""
    return f"DROP SILENT GRAPH <{graph}> ;\nINSERT {{ GRAPH <{graph}> {{\n{body}}} }} WHERE {{}}"


def load_endpoint(endpoint: Endpoint, files: Sequence[Path], progress: Progress | None = None) -> tuple[int, int]:
    """Load ``files`` onto the server, replacing the dataset of an earlier load; (triples, graphs).

    Every file is read before anything is sent, so a file that does not parse changes nothing.
    """
    graphs: dict[str, list[ox.Triple]] = defaultdict(list)
    for path in files:
        for graph, triples in file_graphs(Path(path)).items():
            graphs[graph].extend(triples)
    if not graphs:
        raise InputError("nothing to load: the files hold no triples")
    for name in (UNION_GRAPH, LOAD_GRAPH):
        if name in graphs:
            raise InputError(f"<{name}> is the name of a graph the load writes itself", hint="rename that graph")
    kg = SparqlKnowledgeGraph(endpoint)
    client = kg.client
    try:
        old = read_parts(client)
    except EndpointError as exc:
        if "holds no clinical-kg graph" not in exc.message and "has not finished" not in exc.message:
            raise
        old = []
    parts = sorted(graphs)
    started = _now()
    client.update(f"DROP SILENT GRAPH <{LOAD_GRAPH}> ;\nINSERT DATA {{ GRAPH <{LOAD_GRAPH}> {{\n"
                  f"{_record(parts, started, None)}}} }}")  # fmt: skip
    for graph in parts:
        body = ox.serialize(graphs[graph], format=ox.RdfFormat.N_TRIPLES)
        if endpoint.graph_store_url:
            client.put_graph(graph, body)
        else:
            client.update(_replace(graph, body.decode("utf-8")))
        if progress:
            progress(graph, len(graphs[graph]))
    finish = [f"DROP SILENT GRAPH <{UNION_GRAPH}>"]
    finish += [f"ADD SILENT <{graph}> TO <{UNION_GRAPH}>" for graph in parts]
    finish += [f"DROP SILENT GRAPH <{graph}>" for graph in sorted(set(old) - set(parts))]
    finish += [f"DROP SILENT GRAPH <{LOAD_GRAPH}>",
               f"INSERT DATA {{ GRAPH <{LOAD_GRAPH}> {{\n{_record(parts, started, _now())}}} }}"]  # fmt: skip
    client.update(" ;\n".join(finish))
    return len(kg), len(parts)
