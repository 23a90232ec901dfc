"""Benchmark grouped catalogue answers against flat ones at a hub term of a synthetic graph.

Usage: python scripts/bench_grouped.py [--size 1M] [--graph FILE] [--runs 7]
       [--query conditions-causing-symptom] [--query conditions-causing-symptom-chains]

Loads the vocabulary and a synthetic graph (scripts/generate_synthetic.py; generated into a
temporary folder unless ``--graph`` names one already written, such as
``python scripts/generate_synthetic.py --triples 1M --seed 1 --out synthetic-1M.nt``) into the
default store in memory, as ``ckg query`` does, and times at the most connected symptom
("synthetic pain") each question's flat answer (``run_query``), its grouped answer
(``run_grouped``: the flat answer grouped in Python) and a grouped page of 100 groups, in
alternated runs; prints the median of each (wall clock, and the CPU time of the process, which
another process's load changes less), the rows, groups and distinct pieces of evidence,
and the load average before and after. Timing only: not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import hub_and_leaf  # noqa: E402
from generate_synthetic import generate, parse_size  # noqa: E402

QUERIES = ("conditions-causing-symptom", "conditions-causing-symptom-chains")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1M", help="triples of the synthetic graph (default 1M)")
    parser.add_argument("--graph", type=Path, help="a synthetic graph already written (N-Triples)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each form (default 7)")
    parser.add_argument("--query", action="append", help=f"a question (default: {', '.join(QUERIES)})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ckg-bench-grouped-") as folder:
        path = args.graph
        if path is None:
            path = Path(folder) / "synthetic.nt"
            path.write_text("".join(line + "\n" for line in generate(parse_size(args.size), 1)), encoding="utf-8")
        run(path, args.runs, args.query or list(QUERIES))


def run(path: Path, runs: int, names: list[str]) -> None:
    """Time the flat and grouped forms of each question at the hub symptom of the graph in ``path``."""
    from clinical_kg import resources
    from clinical_kg.catalogue import run_grouped, run_query
    from clinical_kg.paging import Page
    from clinical_kg.store import open_graph
    from clinical_kg.terms import TermIndex

    kg = open_graph("oxigraph", [resources.vocabulary_file(), path])
    index = TermIndex(kg)
    hubs, _ = hub_and_leaf(kg, "https://w3id.org/clinical-kg/vocab/Symptom")
    values = {"symptom": hubs[:1]}
    print(f"graph {path.name}: {len(kg):,} triples; hub {hubs[0]!r}; load average before {_load()}")
    for name in names:
        forms: dict[str, Callable[[], Any]] = {
            "flat": lambda name=name: run_query(kg, name, values, index=index),
            "grouped": lambda name=name: run_grouped(kg, name, values, index=index),
            "grouped, 100 groups": lambda name=name: run_grouped(kg, name, values, index=index, page=Page(100)),
        }
        times: dict[str, list[float]] = {form: [] for form in forms}
        cpu: dict[str, list[float]] = {form: [] for form in forms}
        answers: dict[str, Any] = {}
        for _ in range(runs):  # alternated, so that a change in the machine's load hits every form alike
            for form, call in forms.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                answers[form] = call()
                times[form].append(time.perf_counter() - start)
                cpu[form].append(time.process_time() - start_cpu)
        flat, grouped = answers["flat"], answers["grouped"]
        quotes = {
            v for row in flat.rows for k, v in zip(flat.variables, row, strict=True) if k.startswith("quote") and v
        }
        print(f"{name}: {len(flat.rows):,} rows, {grouped.total:,} groups, {len(quotes):,} distinct quotes")
        for form, seconds in times.items():
            spread = f"{min(seconds):.3f}-{max(seconds):.3f}"
            wall, used = statistics.median(seconds), statistics.median(cpu[form])
            print(f"  {form:22} median {wall:.3f} s  ({runs} runs, {spread} s; CPU {used:.3f} s)")
    print(f"load average after {_load()}")


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
