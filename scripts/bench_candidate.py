"""Time candidate validation (`ckg validate FILE`) against a larger graph.

Usage: python scripts/bench_candidate.py [--copies N] [--repeat R]

The curated data is replicated N times under renamed IRIs (entity, record and source IRIs get a
copy suffix, labels a copy number, so labels stay unique), giving a graph of about N x 4,200
triples, and a good candidate from tests/candidates/good/ is validated against it R times. It
prints the graph size and the median seconds of: loading the data, the full SHACL validation,
and the candidate validation (focused SHACL plus the candidate checks). Until the scale issue
lands its synthetic generator, this is the benchmark of incremental validation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from rdflib import Graph, Literal, URIRef  # noqa: E402

from clinical_kg import resources  # noqa: E402
from clinical_kg.curation import load_data, validate_candidate  # noqa: E402
from clinical_kg.ingest import read_candidate  # noqa: E402
from clinical_kg.validation import validate_graph  # noqa: E402

BASE = "https://w3id.org/clinical-kg/"
SHARED = ("vocab/", "dataset/")  # kept as they are: the vocabulary and dataset nodes are shared


def _rename(term, copy: int):
    if isinstance(term, URIRef) and str(term).startswith(BASE) and not str(term)[len(BASE) :].startswith(SHARED):
        return URIRef(f"{term}-c{copy}")
    if isinstance(term, Literal) and term.language == "en":
        return Literal(f"{term} ({copy})", lang="en")
    return term


def replicated(data: Graph, copies: int) -> Graph:
    """The data plus ``copies - 1`` renamed copies of it."""
    out = Graph()
    out += data
    for copy in range(1, copies):
        for s, p, o in data:
            out.add((_rename(s, copy), p, _rename(o, copy)))
    return out


def median_seconds(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=25, help="how many copies of the curated data (default 25)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (default 3)")
    args = parser.parse_args()
    start = time.perf_counter()
    data = Graph()
    for graph in load_data(resources.data_dir()).values():
        data += graph
    data = replicated(data, args.copies)
    load = time.perf_counter() - start
    vocabulary = Graph().parse(resources.vocabulary_file())
    candidate_file = sorted((ROOT / "tests" / "candidates" / "good").glob("*.ttl"))[0]
    print(f"graph: {len(data) + len(vocabulary):,} triples ({args.copies} copies), built in {load:.1f} s")
    full = median_seconds(lambda: validate_graph(vocabulary + data), 1)
    print(f"full SHACL validation: {full:.2f} s")
    focused = median_seconds(lambda: validate_candidate(read_candidate(candidate_file), data), args.repeat)
    print(f"candidate validation ({candidate_file.name}): median {focused:.2f} s over {args.repeat} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
