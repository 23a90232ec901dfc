"""Benchmark the stores on synthetic clinical-shaped graphs: load, catalogue, validation, export; and the CLI.

Usage: python scripts/bench.py [--sizes 10k,100k,1M] [--json PATH] [--seed S] [--stores oxigraph,memory]
                               [--cli-runs N] [--before SRC] [--skip OPERATIONS]

For each size, a graph from scripts/generate_synthetic.py (with the vocabulary) is timed on
each store, each store in its own process so that its peak memory is its own:

- ``load``: the files into the store in memory (``open_graph(store, files)``: Oxigraph's bulk
  loader, or rdflib's parser into its memory store); every later operation uses that graph.
- ``load:disk``, ``reopen:disk`` (``oxigraph`` only): ``ckg load``'s bulk load into a new
  on-disk store (``clinical_kg.store.load_store``), and opening it again.
- ``index``: building the label index (``TermIndex``) once, as every command does.
- ``query:NAME``: each catalogue query through ``run_query`` (term resolution from the label
  included), with parameters at a hub term (the most connected entity of the parameter's class,
  such as "synthetic pain") and at a leaf term (one with a single statement); median of repeated runs.
  On ``oxigraph``, the ``raw`` column beside it is the floor: the same final query text (the
  values bound as ``run_query`` binds them) run by pyoxigraph's ``Store.query`` alone, every
  row's terms taken out as Python objects; ``oxigraph/raw`` is the ratio.
- ``validate:full``: SHACL validation of the whole graph, as ``ckg validate`` runs it;
  ``validate:incremental``: a 100-triple candidate checked with
  ``clinical_kg.curation.validate_candidate`` (its neighbourhood only).
- ``validate:disk`` (``oxigraph`` only): the whole on-disk store validated as ``ckg validate
  --store-path`` does (``validate_kg``: copied into memory when it fits); ``validate:disk-in-place``:
  the on-disk store validated where it is.
- ``export:nt``, ``export:ttl``: ``ckg export``'s RDF exporters (``clinical_kg.export.rdf``:
  Oxigraph's serialisers, canonical blank nodes, sorted) from the store (Oxigraph) or the rdflib
  graph (memory) into a file.

Then, unless ``--cli-runs 0``, ``scripts/bench_cli.py`` times ``ckg`` commands end to end on the
shipped graph against the raw-pyoxigraph floor (``scripts/floor.py``) in the same run, and with
``--before SRC`` an older source tree beside this one.

It prints a Markdown table (seconds, the ratio memory/oxigraph, rows, peak RSS) and with
``--json`` writes a list of records {"size", "operation", "store", "median_s", "rows",
"peak_rss_mb", "at", "runs"} ("at": hub, leaf or all; "runs": how many timed runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts")]  # this checkout's package, whatever is installed

import bench_cli  # noqa: E402
from generate_synthetic import generate, parse_size  # noqa: E402

QUERY_BUDGET_S = 20.0  # repeat a query up to 7 times, while the runs stay within this budget
TIME_LIMIT_S = 120.0  # one run of a query, a validation or an export; beyond it, recorded as timed out
SKIP: tuple[str, ...] = ()  # operations not timed (--skip): names or their beginnings, such as validate:disk


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimeLimitError(Exception):
    """A run took longer than the time limit."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise TimeLimitError


def timed(run: Callable[[], Any], budget: float = QUERY_BUDGET_S, most: int = 7) -> tuple[float, Any, int]:
    """Median seconds over repeated runs (at least one, at most ``most``), the last result, runs.

    A run longer than TIME_LIMIT_S is stopped: TimeLimitError.
    """
    times: list[float] = []
    result = None
    while len(times) < most and (not times or sum(times) + times[-1] < budget):
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
        start = time.perf_counter()
        try:
            result = run()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result, len(times)


# The worker: one store, one graph ----------------------------------------------------------------

HUB_LEAF = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?entity (COUNT(?record) AS ?degree) WHERE {
    ?class rdfs:subClassOf* <CLASS> . ?entity a ?class .
    { ?record rdf:subject ?entity } UNION { ?record rdf:object ?entity }
} GROUP BY ?entity ORDER BY DESC(?degree) ?entity
"""


def hub_and_leaf(kg: Any, cls: str) -> tuple[list[str], list[str]]:
    """Labels of the two most connected entities of ``cls`` and of a least connected one."""
    rows = kg.query(HUB_LEAF.replace("CLASS", cls)).rows  # labels last: joining them first is slow at 1M
    least = min(int(degree) for _, degree in rows)
    leaf = next(entity for entity, degree in rows if int(degree) == least)
    chosen = [rows[0][0], rows[1][0], leaf]
    values = " ".join(term.n3() for term in chosen)
    label_query = "SELECT ?e ?l WHERE { VALUES ?e { $E } ?e <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }"
    labels = dict(kg.query(label_query.replace("$E", values)).rows)
    return [str(labels[chosen[0]]), str(labels[chosen[1]])], [str(labels[leaf])]


def query_cases(kg: Any) -> list[tuple[str, str, dict[str, list[str]]]]:
    from clinical_kg.catalogue import load_catalogue

    prefixes = {"ckg:": "https://w3id.org/clinical-kg/vocab/"}
    cases = []
    for name, query in sorted(load_catalogue().items()):
        terms = [p for p in query.parameters if p.type == "term"]  # not `source`, a choice of sources
        if not terms:
            cases.append((name, "all", {}))
            continue
        parameter = terms[0]
        cls = parameter.prefer_class or "ckg:Symptom"
        for prefix, namespace in prefixes.items():
            cls = cls.replace(prefix, namespace)
        hubs, leaves = hub_and_leaf(kg, cls)
        for at, labels in (("hub", hubs), ("leaf", leaves)):
            cases.append((name, at, {parameter.name: labels if parameter.multiple else labels[:1]}))
    return cases


def candidate_graph(kg: Any) -> Any:
    """A valid 100-triple candidate: a new symptom and twelve statements with their records."""
    from rdflib import RDF, SKOS, Graph, Literal, URIRef

    from clinical_kg.vocab import CKG

    source = kg.query("SELECT ?src WHERE { ?r ckg:source ?src } LIMIT 1", {"ckg": str(CKG)}).rows[0][0]
    first_conditions = "SELECT ?c WHERE { ?c a ckg:Condition } ORDER BY ?c LIMIT 11"
    conditions = [r[0] for r in kg.query(first_conditions, {"ckg": str(CKG)}).rows]
    label = f"SELECT ?l WHERE {{ {conditions[1].n3()} <{SKOS.prefLabel}> ?l }} LIMIT 1"  # an IRI the store gave
    second = kg.query(label).rows[0][0]
    graph = Graph()
    new = URIRef("https://w3id.org/clinical-kg/id/benchmark-candidate-symptom")
    graph.add((new, RDF.type, CKG.Symptom))
    graph.add((new, SKOS.prefLabel, Literal("benchmark candidate symptom", lang="en")))
    graph.add((new, SKOS.definition, Literal("A symptom added by the benchmark.", lang="en")))
    graph.add((new, CKG.broader, URIRef("https://w3id.org/clinical-kg/id/synthetic-pain")))
    for i, condition in enumerate([*conditions, conditions[0]]):
        predicate, obj = (CKG.hasSymptom, new) if i < 11 else (CKG.riskFactorFor, conditions[1])
        record = URIRef(f"https://w3id.org/clinical-kg/assertion/benchmark{i:08x}")
        graph.add((condition, predicate, obj))
        named = "benchmark candidate symptom" if i < 11 else second  # a quote names a term of its statement
        quote, hedge = Literal(f"Benchmark statement {i}: this may bring on {named}."), Literal("may")
        statement = ((RDF.type, CKG.Assertion), (RDF.subject, condition), (RDF.predicate, predicate), (RDF.object, obj))
        for p, o in (*statement, (CKG.source, source), (CKG.evidenceQuote, quote), (CKG.hedge, hedge)):
            graph.add((record, p, o))
    return graph


def raw_rows(result: Any) -> list[tuple[Any, ...]] | bool:
    """Every row of a pyoxigraph query result, each term taken out as a Python object."""
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):  # ASK
        return bool(result)
    return [tuple(row) for row in result]


def raw_query(kg: Any, text: str) -> list[tuple[Any, ...]] | bool:
    """``text`` run by pyoxigraph alone on what ``run_query`` reads (the default graph and any
    imported graphs), every row's terms taken out."""
    return raw_rows(kg.store.query(text, use_default_graph_as_union=False, **kg.dataset()))


def worker(store: str, size: int, path: Path, out: Path) -> None:
    """Time every operation on one store; write the records to ``out`` as JSON."""
    with tempfile.TemporaryDirectory(prefix="ckg-bench-") as folder:  # the on-disk store, the exports
        _time_operations(store, size, path, out, Path(folder))


def _time_operations(store: str, size: int, path: Path, out: Path, folder: Path) -> None:
    from rdflib import Graph

    from clinical_kg import resources
    from clinical_kg.catalogue import bind_parameters, get_query, run_query
    from clinical_kg.curation import validate_candidate
    from clinical_kg.export.rdf import export_ntriples, export_turtle
    from clinical_kg.store import load_store, open_graph, open_store
    from clinical_kg.terms import TermIndex
    from clinical_kg.validation import validate_graph, validate_kg

    records: list[dict[str, Any]] = []

    def record(operation: str, seconds: float, rows: int | None = None, at: str = "all", runs: int = 1,
               engine: str = store) -> None:  # fmt: skip
        entry = {"size": size, "operation": operation, "store": engine, "median_s": round(seconds, 6),
                 "rows": rows, "peak_rss_mb": round(peak_rss_mb(), 1), "at": at, "runs": runs}  # fmt: skip
        if runs == 0:
            entry["timed_out"] = True  # median_s is the time limit: a lower bound
        records.append(entry)
        print(f"  {engine:8} {operation:42} {at:4} {seconds:10.4f} s  rows={rows}", file=sys.stderr, flush=True)

    def attempt(operation: str, run: Callable[[], Any], budget: float, at: str = "all", engine: str = store) -> Any:
        if operation.startswith(SKIP):
            return None
        try:
            seconds, result, runs = timed(run, budget=budget)
        except TimeLimitError:
            record(operation, TIME_LIMIT_S, None, at, runs=0, engine=engine)
            return None
        rows = None
        if hasattr(result, "rows"):
            rows = len(result.rows)
        elif hasattr(result, "problems"):
            rows = len(result.problems)
        elif hasattr(result, "findings"):
            rows = len(result.findings)
        elif engine == "raw" and isinstance(result, list):
            rows = len(result)
        record(operation, seconds, rows, at, runs, engine=engine)
        return result

    files = [resources.vocabulary_file(), path]
    if store == "oxigraph":
        start = time.perf_counter()
        load_store(folder / "store", files)
        record("load:disk", time.perf_counter() - start)
        start = time.perf_counter()
        disk = open_store(folder / "store")
        record("reopen:disk", time.perf_counter() - start)
        del disk
    start = time.perf_counter()
    kg = open_graph(store, files)  # the default store keeps the graph in memory, as `ckg query` does
    record("load", time.perf_counter() - start)
    seconds, index, _ = timed(lambda: TermIndex(kg), budget=0)
    record("index", seconds)

    for name, at, values in query_cases(kg):
        attempt(f"query:{name}", lambda name=name, values=values: run_query(kg, name, values, index=index),
                QUERY_BUDGET_S, at)  # fmt: skip
        if store == "oxigraph" and not f"query:{name}".startswith(SKIP):
            text, _ = bind_parameters(get_query(name), values, index)
            attempt(f"query:{name}", lambda text=text: raw_query(kg, text), QUERY_BUDGET_S, at, "raw")

    def full() -> Any:
        return validate_graph(kg.graph)  # as `ckg validate` does

    attempt("validate:full", full, 0)
    if store == "oxigraph":
        attempt("validate:disk", lambda: validate_kg(open_store(folder / "store")), 0)  # `ckg validate --store-path`
        attempt("validate:disk-in-place", lambda: validate_graph(open_store(folder / "store").store), 0)
    data = kg.graph
    candidate = candidate_graph(kg)  # built once, outside the timing; each run checks a fresh copy

    # validate_candidate names the candidate's blank-node records in place: each run gets a copy
    attempt("validate:incremental", lambda: validate_candidate(Graph() + candidate, data), 10)

    source = kg.store if store == "oxigraph" else kg.graph
    attempt("export:nt", lambda: export_ntriples(source, folder / "export.nt"), 0)
    attempt("export:ttl", lambda: export_turtle(source, folder / "export.ttl"), 0)
    out.write_text(json.dumps(records))


# The driver -----------------------------------------------------------------------------------


def table(records: list[dict[str, Any]], stores: list[str]) -> str:
    """Markdown: one row per size and operation, seconds per store (and raw pyoxigraph's) and the ratios."""
    by_key: dict[tuple[int, str, str], dict[str, dict[str, Any]]] = {}
    for r in records:
        by_key.setdefault((r["size"], r["operation"], r["at"]), {})[r["store"]] = r
    if any(r["store"] == "raw" for r in records):
        stores = [*stores, "raw"]
    head = "| triples | operation | at | " + " | ".join(f"{s} s" for s in stores)
    head += " | memory/oxigraph | oxigraph/raw | rows |\n|---:|---|---|" + "---:|" * len(stores) + "---:|---:|---:|\n"
    lines = []
    for (size, operation, at), cells in by_key.items():
        seconds = [cells[s]["median_s"] if s in cells else None for s in stores]
        over = {s: ">" if cells.get(s, {}).get("timed_out") else "" for s in stores}
        ratio = ""
        if "memory" in cells and "oxigraph" in cells and cells["oxigraph"]["median_s"] > 0:
            ratio = f"{over['memory']}{cells['memory']['median_s'] / cells['oxigraph']['median_s']:.1f}x"
        over_raw = ""
        if "raw" in cells and "oxigraph" in cells and cells["raw"]["median_s"] > 0:
            over_raw = f"{over['oxigraph']}{cells['oxigraph']['median_s'] / cells['raw']['median_s']:.2f}x"
        rows = next((c["rows"] for c in cells.values() if c["rows"] is not None), "")
        shown = " | ".join(f"{over[n]}{s:.4f}" if s is not None else "" for n, s in zip(stores, seconds, strict=True))
        lines.append(f"| {size:,} | {operation} | {at} | {shown} | {ratio} | {over_raw} | {rows} |")
    peaks = {}
    for r in records:
        key = (r["size"], r["store"])
        peaks[key] = max(peaks.get(key, 0.0), r["peak_rss_mb"])

    def peak(size: int, store: str) -> str:
        return "" if store == "raw" else f"{peaks.get((size, store), 0):.0f}"  # raw runs in oxigraph's process

    peak_lines = [f"| {size:,} | peak RSS (MB) | | " + " | ".join(peak(size, s) for s in stores)
                  + " | | | |" for size in sorted({k[0] for k in peaks})]  # fmt: skip
    return head + "\n".join(lines + peak_lines) + "\n"


def machine() -> str:
    load = os.getloadavg()
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; load average before the run {load[0]:.2f}")  # fmt: skip


def main() -> None:
    global TIME_LIMIT_S, SKIP
    example = "Example: python scripts/bench.py --sizes 10k,100k --json bench.json"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=example)
    parser.add_argument("--sizes", default="10k,100k,1M", help="graph sizes in triples (default 10k,100k,1M)")
    parser.add_argument("--stores", default="oxigraph,memory", help="stores to time (default oxigraph,memory)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic graphs (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="write the records as JSON to this file")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_S, help="seconds one run may take (default 120)")
    parser.add_argument("--cli-runs", type=int, default=7, help="timed runs of each CLI command (default 7; 0: none)")
    parser.add_argument("--before", type=Path, default=None, help="an older source tree to time the CLI of too")
    parser.add_argument("--skip", default="", help="operations not to time, by name or beginning (validate,export:ttl)")
    parser.add_argument("--worker", nargs=4, metavar=("STORE", "SIZE", "NT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    TIME_LIMIT_S = args.time_limit
    SKIP = tuple(name for name in args.skip.split(",") if name)
    if args.worker:
        store, size, path, out = args.worker
        worker(store, int(size), Path(path), Path(out))
        return
    stores = args.stores.split(",")
    print(f"machine: {machine()}", file=sys.stderr)
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ckg-bench-") as folder:
        for size in (parse_size(s) for s in args.sizes.split(",")):
            path = Path(folder) / f"synthetic-{size}.nt"
            path.write_text("".join(line + "\n" for line in generate(size, args.seed)), encoding="utf-8")
            for store in stores:
                print(f"{size:,} triples, {store}:", file=sys.stderr)
                out = Path(folder) / f"{store}-{size}.json"
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--time-limit",
                        str(TIME_LIMIT_S),
                        "--skip",
                        args.skip,
                        "--worker",
                        store,
                        str(size),
                        str(path),
                        str(out),
                    ],
                    check=True,
                )
                records += json.loads(out.read_text())
    cli: list[dict[str, Any]] = []
    if args.cli_runs:
        print("the CLI on the shipped graph, against the floor:", file=sys.stderr)
        cli = bench_cli.measure(args.cli_runs, bench_cli.source_trees(args.before))
    if args.json:
        args.json.write_text(json.dumps(records + cli, indent=1) + "\n")
    print(f"Machine: {machine()}; load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(table(records, stores))
    if cli:
        print(bench_cli.table(cli))


if __name__ == "__main__":
    main()
