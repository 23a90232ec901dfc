"""Time the RDF exporters at scale (CPU and wall), from three kinds of store, before and after a change.

Usage: python scripts/bench_export.py [--triples 1M] [--graph FILE.nt] [--store-path DIR] [--runs N]
                                      [--formats turtle,ntriples] [--stores memory,default,disk]
                                      [--before SRC] [--json PATH]

The graph is the vocabulary and a synthetic graph (``scripts/generate_synthetic.py``, seed 1, of
``--triples``; or ``--graph``). Each exporter of ``clinical_kg.export.rdf`` writes it to a file
from:

- ``memory``: the in-memory store ``ckg export`` reads (``load_dataset``: each file in its
  named graph, so the union is written);
- ``default``: the in-memory store of ``scripts/bench.py`` (``open_graph``: every triple in the
  default graph);
- ``disk``: an on-disk store (``--store-path``, opened read-only; default: one built here with
  ``clinical_kg.store.load_store``, as ``ckg load`` builds it).

Every run is a new process that loads the store (not timed) and runs each format once, so the
runs of this tree and of ``--before SRC`` (an older ``src`` folder, for example a worktree of
main) alternate round by round and share the machine's load alike. Reported: the median CPU
time (user + system) and wall time of each export, and whether both trees wrote the same bytes.
``scripts/bench.py`` times the same exporters across sizes and stores (wall time only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXPORTERS = {"turtle": "export_turtle", "ntriples": "export_ntriples", "nquads": "export_nquads",
             "rdfxml": "export_rdfxml"}  # fmt: skip


def worker(kind: str, graph: str, store_path: str, formats: list[str], out: Path) -> None:
    """Load the store of ``kind`` once, run each format's exporter once; print the records as JSON."""
    import resource
    import time

    import pyoxigraph as ox

    from clinical_kg import resources
    from clinical_kg.export import rdf

    files = [resources.vocabulary_file(), Path(graph)]
    if kind == "memory":
        store = rdf.load_dataset(files)
    elif kind == "default":
        from clinical_kg.store import open_graph

        store = open_graph("oxigraph", files).store
    else:
        store = ox.Store.read_only(store_path)
    records = []
    for fmt in formats:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        getattr(rdf, EXPORTERS[fmt])(store, out)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        records.append({"format": fmt, "cpu_s": cpu, "wall_s": wall, "sha256": digest, "module": rdf.__file__})
    print(json.dumps(records))


def run_worker(src: Path, kind: str, graph: Path, store_path: Path, formats: list[str], out: Path) -> list[dict]:
    """One run in a new process with ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, __file__, "--worker", kind, str(graph), str(store_path), ",".join(formats), str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    records = json.loads(done.stdout.splitlines()[-1])
    if not records[0]["module"].startswith(str(src)):
        raise RuntimeError(f"{src} was not the package imported: {records[0]['module']}")
    return records


def measure(trees: dict[str, Path], kinds: list[str], graph: Path, store_path: Path, formats: list[str],
            runs: int, folder: Path) -> list[dict[str, Any]]:  # fmt: skip
    """Alternated runs of every tree on every kind of store; one record per (kind, format, tree)."""
    samples: dict[tuple[str, str, str], list[dict]] = {}
    order = list(trees)
    for round_ in range(runs):
        for kind in kinds:
            for tree in order[round_ % len(order) :] + order[: round_ % len(order)]:
                for record in run_worker(trees[tree], kind, graph, store_path, formats, folder / "export.out"):
                    samples.setdefault((kind, record["format"], tree), []).append(record)
        print(f"  round {round_ + 1} of {runs} done", file=sys.stderr, flush=True)
    records = []
    for (kind, fmt, tree), runs_ in samples.items():
        records.append({"store": kind, "format": fmt, "tree": tree, "runs": len(runs_),
                        "cpu_s": round(statistics.median(r["cpu_s"] for r in runs_), 3),
                        "wall_s": round(statistics.median(r["wall_s"] for r in runs_), 3),
                        "sha256": sorted({r["sha256"] for r in runs_})})  # fmt: skip
    return records


def table(records: list[dict[str, Any]]) -> str:
    """Markdown: one row per store and format, CPU and wall medians per tree, and whether the bytes agree."""
    trees = list(dict.fromkeys(r["tree"] for r in records))
    cells: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in records:
        cells.setdefault((r["store"], r["format"]), {})[r["tree"]] = r
    head = "| store | format | " + " | ".join(f"{t} CPU s | {t} wall s" for t in trees)
    head += " | after/before CPU | same bytes |" if len(trees) > 1 else " | same bytes every run |"
    head += "\n|---|---|" + "---:|---:|" * len(trees) + ("---:|---|" if len(trees) > 1 else "---|") + "\n"
    lines = []
    for (kind, fmt), by_tree in cells.items():
        shown = " | ".join(f"{by_tree[t]['cpu_s']:.2f} | {by_tree[t]['wall_s']:.2f}" for t in trees)
        digests = {d for t in trees for d in by_tree[t]["sha256"]}
        ratio = f" {by_tree['after']['cpu_s'] / by_tree['before']['cpu_s']:.2f}x |" if len(trees) > 1 else ""
        lines.append(f"| {kind} | {fmt} | {shown} |{ratio} {'yes' if len(digests) == 1 else 'NO'} |")
    return head + "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, graph, store_path, formats, out = sys.argv[2:7]
        worker(kind, graph, store_path, formats.split(","), Path(out))
        return
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts")]
    from bench_cli import report, source_trees
    from generate_synthetic import generate, parse_size, write

    example = "Example: python scripts/bench_export.py --graph synthetic-1M.nt --runs 5 --before ../main/src"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=example)
    parser.add_argument("--triples", type=parse_size, default=1_000_000, help="synthetic graph size (default 1M)")
    parser.add_argument("--graph", type=Path, default=None, help="an N-Triples graph to use instead of a synthetic one")
    parser.add_argument("--store-path", type=Path, default=None, help="the on-disk store (default: built here)")
    parser.add_argument("--stores", default="memory,default,disk", help="kinds of store (default memory,default,disk)")
    parser.add_argument("--formats", default="turtle,ntriples", help="formats (default turtle,ntriples)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each export in each tree (default 5)")
    parser.add_argument("--before", type=Path, default=None, help="a second source tree to time in the same rounds")
    parser.add_argument("--json", type=Path, default=None, help="write the records as JSON to this file")
    args = parser.parse_args()
    trees = source_trees(args.before)
    kinds, formats = args.stores.split(","), args.formats.split(",")
    with tempfile.TemporaryDirectory(prefix="ckg-bench-export-") as name:
        folder = Path(name)
        graph = args.graph
        if graph is None:
            graph = folder / "synthetic.nt"
            write(generate(args.triples, 1), str(graph))
        store_path = args.store_path
        if store_path is None and "disk" in kinds:
            from clinical_kg.resources import vocabulary_file
            from clinical_kg.store import load_store

            store_path = folder / "store"
            load_store(store_path, [vocabulary_file(), graph])
        records = measure(trees, kinds, graph.resolve(), Path(store_path or "-"), formats, args.runs, folder)
    report(records, table(records), args.json)


if __name__ == "__main__":
    main()
