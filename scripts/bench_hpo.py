"""Benchmark the merged graph: the curated data with the HPO and its annotations imported (issue 15).

Usage: python scripts/bench_hpo.py [--store DIR] [--json PATH] [--keep]

Each step runs in its own process, so that its peak memory (RSS) is its own:

- ``import``: ``ckg import hpo --annotations`` into a new on-disk store (built from the curated
  data first, as the command does); the store's size on disk;
- ``reopen``: opening the store again and answering a first one-row query;
- ``query:NAME``: each catalogue query on the on-disk store, as ``ckg query --store-path`` runs it
  (term resolution included), at a hub and at a leaf: for symptoms "Pain" (HP:0012531, with every
  narrower pain) and the term with the most annotations, and "Sciatica" (HP:0011868, 2
  annotations); for conditions the disease with the most annotations and one with a single one;
  for treatments, which the HPO has none of, the curated hub and leaf; median of repeated runs,
  with the rows per second and, with ``--limit 100``, the first page;
- ``validate:candidate``: a curator's 100-triple candidate checked against the merged store
  (``clinical_kg.curation.validate_candidate``, as ``scripts/bench.py`` builds it);
- ``validate:full``: the whole merged store validated as ``ckg validate --store-path`` does.

It prints a Markdown table (seconds, rows, rows per second, peak RSS, the issue's target) and
with ``--json`` writes the records. The store is removed at the end unless ``--keep``.
Run it with ``nice`` on a shared machine, and note what else ran.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts")]  # this checkout's package, whatever is installed

PAIN, SCIATICA = "HP:0012531", "HP:0011868"
TARGETS = {
    "import": "under 60 s",
    "reopen": "under 1 s",
    "query:leaf": "median under 50 ms",
    "query:hub": "20,000 rows/s, or the first 100 rows under 100 ms",
    "validate:candidate": "under 0.5 s",
    "validate:full": "under 5 min",
    "peak": "under 2 GB",
}
_DEGREE = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?entity (COUNT(?record) AS ?n) WHERE {
  ?record ckg:source ?source ; rdf:$POSITION ?entity .
  ?source dcterms:isVersionOf ckgsrc:hpoa .
} GROUP BY ?entity ORDER BY DESC(?n) ?entity
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(name: str, store: Path, out: Path) -> list[dict[str, Any]]:
    """Run one step in a new process; its records."""
    subprocess.run([sys.executable, __file__, "--step", name, "--store", str(store), "--json", str(out)], check=True)
    return json.loads(out.read_text())


def _record(operation: str, seconds: float, rows: int | None = None, at: str = "", runs: int = 1) -> dict[str, Any]:
    entry = {"operation": operation, "at": at, "median_s": round(seconds, 6), "rows": rows, "runs": runs,
             "peak_rss_mb": round(peak_rss_mb(), 1)}  # fmt: skip
    print(f"  {operation:40} {at:22} {seconds:10.4f} s  rows={rows}", file=sys.stderr, flush=True)
    return entry


def run_step(name: str, store: Path) -> list[dict[str, Any]]:
    """One step, in this process."""
    if name == "import":
        from clinical_kg.imports.hpo import import_hpo

        start = time.perf_counter()
        report = import_hpo(store, annotations=True)
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
        records = sum(n for what, n in report.sources[1].counts.items() if what.startswith("aspect"))
        triples = report.curated + report.imported
        return [_record("import", seconds, records), {"operation": "store size", "bytes": size, "triples": triples}]
    if name == "reopen":
        from clinical_kg.store import open_store

        start = time.perf_counter()
        kg = open_store(store)
        rows = kg.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1").rows
        return [_record("reopen", time.perf_counter() - start, len(rows))]
    if name == "queries":
        return _queries(store)
    if name == "validate:candidate":
        from bench import candidate_graph, timed
        from rdflib import Graph

        from clinical_kg.curation import validate_candidate
        from clinical_kg.store import open_store

        kg = open_store(store)
        candidate = candidate_graph(kg)
        data = kg.graph
        seconds, report, runs = timed(lambda: validate_candidate(Graph() + candidate, data), budget=10)
        return [_record("validate:candidate", seconds, len(getattr(report, "findings", [])), runs=runs)]
    if name == "validate:full":
        from clinical_kg.store import open_store
        from clinical_kg.validation import validate_kg

        start = time.perf_counter()
        report = validate_kg(open_store(store))
        return [_record("validate:full", time.perf_counter() - start, len(report.problems))]
    raise SystemExit(f"unknown step {name}")


def _queries(store: Path) -> list[dict[str, Any]]:
    from bench import hub_and_leaf, timed

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
        parameter = query.parameters[0] if query.parameters else None
        if parameter is None:
            chosen = [("all", None)]
        elif parameter.prefer_class in cases:
            chosen = cases[parameter.prefer_class]
        else:
            cls = (parameter.prefer_class or "ckg:Symptom").replace("ckg:", prefix_map()["ckg"])
            hubs, leaves = hub_and_leaf(kg, cls)
            chosen = [("hub: curated", hubs[0]), ("leaf: curated", leaves[0])]
        for at, value in chosen:
            values = {} if parameter is None else {parameter.name: [value]}

            def run(values: dict[str, list[str]] = values, name: str = name) -> Any:
                return run_query(kg, name, values, index=TermIndex(kg))  # a new index: as each command does

            seconds, result, runs = timed(run)
            records.append(_record(f"query:{name}", seconds, len(result.rows), at, runs))
            if at.startswith("hub") and len(result.rows) > 100:

                def first_page(values: dict[str, list[str]] = values, name: str = name) -> Any:
                    return run_query(kg, name, values, index=TermIndex(kg), page=Page(100))

                seconds, result, runs = timed(first_page)
                records.append(_record(f"query:{name} (first 100)", seconds, len(result.rows), at, runs))
    return records


def table(records: list[dict[str, Any]]) -> str:
    lines = [
        "| operation | at | median s | rows | rows/s | peak RSS MB | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in records:
        if "median_s" not in r:
            continue
        kind = r["operation"] if not r["operation"].startswith("query:") else "query:" + r["at"].split(":")[0]
        rate = f"{r['rows'] / r['median_s']:,.0f}" if r.get("rows") and r["median_s"] > 0 else ""
        rows = r["rows"] if r["rows"] is not None else ""
        lines.append(f"| {r['operation']} | {r['at']} | {r['median_s']:.4f} | {rows} | {rate} "
                     f"| {r['peak_rss_mb']:.0f} | {TARGETS.get(kind, '')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--store", type=Path, default=None, help="where to build the store (default: a temporary folder)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the records to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the store")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        args.json.write_text(json.dumps(run_step(args.step, args.store)))
        return
    folder = Path(tempfile.mkdtemp(prefix="ckg-bench-hpo-"))
    store = args.store or folder / "store"
    records: list[dict[str, Any]] = []
    try:
        for name in ("import", "reopen", "queries", "validate:candidate", "validate:full"):
            print(f"{name} ...", file=sys.stderr, flush=True)
            records += step(name, store, folder / f"{name}.json")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {_cores()} cores\n")
    print(table(records))
    size = next((r for r in records if r["operation"] == "store size"), None)
    if size:
        print(f"Store: {size['quads']:,} quads, {size['bytes'] / 1e6:,.0f} MB on disk")
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
