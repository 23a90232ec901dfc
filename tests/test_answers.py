"""The answer semantics of docs/data-model.md: stated or inferred, every link, the hedge scale,
red flags that reach the conditions under the one they were stated for, and the two symptom
questions agreeing.

The exact rows of each question are in tests/queries/; these tests check the rules on every row
of the shipped data (and, where the data has no example yet, on a small graph of their own).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from rdflib import RDF, Graph, Literal, URIRef

from clinical_kg import resources
from clinical_kg.catalogue import get_query, run_query
from clinical_kg.hedges import FLAT, UNPLACED, hedge_scale, scale_from
from clinical_kg.store import KnowledgeGraph, open_graph
from clinical_kg.vocab import CKG
from tests.conftest import index_for, shipped

CKGID = "https://w3id.org/clinical-kg/id/"
CHAIN_QUERIES = ("conditions-causing-symptom-chains", "symptoms-of-condition-chains")
LINKED_QUERIES = (*CHAIN_QUERIES, "treatments-for-condition-chains", "prevention-for-condition-chains",
                  "red-flags", "symptoms-of-condition")  # fmt: skip
EVERY_RELATION = ["ckg:causes", "ckg:contributesTo", "ckg:aggravates", "ckg:riskFactorFor"]
ALL = EVERY_RELATION


def vocabulary() -> Graph:
    return Graph().parse(resources.vocabulary_file(), format="turtle")


def entities(kg: KnowledgeGraph, cls: URIRef) -> list[URIRef]:
    return sorted(s for (s,) in kg.query(f"SELECT ?s WHERE {{ ?s a <{cls}> }}").rows)


def run_for_all(kg: KnowledgeGraph, name: str, terms: list[URIRef], **extra: list[str]) -> list[dict]:
    """A catalogue query asked for every term at once: its parameter's VALUES blocks hold them all."""
    query = get_query(name)
    term = next(p for p in query.parameters if p.type == "term")
    values = " ".join(t.n3() for t in terms)
    text = query.text
    for var in term.vars:
        text = query.values_block(var).sub(f"VALUES ?{var} {{ {values} }}", text)
    for key, given in extra.items():
        parameter = next(p for p in query.parameters if p.name == key)
        from clinical_kg.catalogue import _choice  # the binding `ckg query` uses

        content = " ".join(str(_choice(parameter, v)) for v in given)
        for var in parameter.vars:
            text = query.values_block(var).sub(f"VALUES ?{var} {{ {content} }}", text)
    return kg.query_trusted(text).dicts()


# The hedge scale ------------------------------------------------------------------------------


def test_the_hedge_scale_orders_the_levels_of_the_vocabulary() -> None:
    scale = hedge_scale()
    assert scale.levels == {1: "rarely", 2: "can", 3: "often", 4: "usually"}
    assert scale.strength("on rare occasions") < scale.strength("may") < scale.strength("often")
    assert scale.strength("often") < scale.strength("usually") < scale.strength(None) == FLAT
    assert scale.strength("can") == scale.strength("some people") == 2
    assert scale.strength("apparently") == UNPLACED < scale.strength("rarely")


@pytest.mark.parametrize(
    ("hedges", "weakest"),
    [
        ([None, None], None),  # no link hedged: no hedge
        (["often", None], "often"),  # a flat statement is stronger than any hedge
        ([None, "often"], "often"),
        (["can", "often"], "can"),
        (["often", "can", "usually"], "can"),
        (["can", "may"], "can"),  # equally weak: the first names it
        (["may", "can"], "may"),
        (["usually", "apparently"], "apparently"),  # a word not on the scale is the weakest
        (["on rare occasions", "can"], "on rare occasions"),
    ],
)
def test_a_chain_is_as_strong_as_its_weakest_link(hedges: list[str | None], weakest: str | None) -> None:
    assert hedge_scale().weakest(hedges) == weakest


def test_every_hedge_word_is_on_exactly_one_level() -> None:
    graph = vocabulary()
    words = [str(w) for _, w in graph.subject_objects(CKG.hedgeWord)]
    assert len(words) == len(set(words)), "a word on two levels"
    assert all(w == w.lower().strip() for w in words)
    ranks = [int(r) for level, r in graph.subject_objects(CKG.rank) if (level, None, CKG.HedgeLevel) in graph]
    assert sorted(ranks) == list(range(1, len(ranks) + 1))


def test_urgency_levels_are_ranked_most_urgent_highest() -> None:
    graph = vocabulary()
    levels = set(graph.subjects(RDF.type, CKG.UrgencyLevel))
    ranks = {level: int(graph.value(level, CKG.rank)) for level in levels}
    assert sorted(ranks.values()) == list(range(1, len(levels) + 1))
    assert max(ranks, key=ranks.get) == CKG.UrgencyEmergency
    assert min(ranks, key=ranks.get) == CKG.UrgencyRoutine


def test_every_hedge_of_the_shipped_data_is_on_the_scale(oxigraph_kg: KnowledgeGraph) -> None:
    query = "SELECT DISTINCT ?h WHERE { ?r ckg:hedge ?h }"
    used = {str(h) for (h,) in oxigraph_kg.query(query, {"ckg": str(CKG)}).rows}
    unplaced = sorted(used - set(hedge_scale().ranks))
    assert not unplaced, f"add these hedge words to a ckg:HedgeLevel in ontology/clinical-kg.ttl: {unplaced}"


def test_python_reads_the_scale_from_any_graph_holding_the_vocabulary(oxigraph_kg: KnowledgeGraph) -> None:
    assert scale_from(oxigraph_kg.memory_graph()) == hedge_scale()


# Every link of every row ---------------------------------------------------------------------


def _linked_rows(kg: KnowledgeGraph) -> list[tuple[str, dict]]:
    rows = []
    conditions = entities(kg, CKG.Condition)
    symptoms = entities(kg, CKG.Symptom)
    for name in LINKED_QUERIES:
        term = next(p for p in get_query(name).parameters if p.type == "term")
        terms = symptoms if term.prefer_class == "ckg:Symptom" else conditions
        extra = {"links": ["3"], "relations": EVERY_RELATION} if name in CHAIN_QUERIES else {}
        rows += [(name, row) for row in run_for_all(kg, name, terms, **extra)]
    return rows


@pytest.fixture(scope="module")
def linked_rows() -> list[tuple[str, dict]]:
    return _linked_rows(shipped("oxigraph"))


def test_there_are_inferred_rows_of_two_and_three_links(linked_rows) -> None:
    bases = {str(row["basis"]) for _, row in linked_rows}
    assert {"stated", "inferred (2 links)", "inferred (3 links)"} <= bases


def test_basis_counts_the_links_and_every_link_is_whole(linked_rows) -> None:
    for name, row in linked_rows:
        links = [k for k in (1, 2, 3) if row[f"relation{k}"] is not None]
        assert links == list(range(1, len(links) + 1)), (name, row)
        assert str(row["basis"]) == ("stated" if len(links) == 1 else f"inferred ({len(links)} links)"), (name, row)
        for k in links:
            assert row[f"subject{k}"] is not None and row[f"object{k}"] is not None, (name, k, row)
            assert row[f"subject{k}Label"] is not None and row[f"object{k}Label"] is not None, (name, k, row)
            if row[f"relation{k}"] != CKG.broader:  # the curators' hierarchy has no record of its own
                assert row[f"source{k}"] is not None and row[f"quote{k}"] is not None, (name, k, row)
        for k in links[1:]:  # each link shares a term with the one before it
            terms = {row[f"subject{k - 1}"], row[f"object{k - 1}"]}
            assert terms & {row[f"subject{k}"], row[f"object{k}"]}, (name, k, row)


def test_no_row_shows_an_empty_hedge_when_a_link_is_hedged(linked_rows) -> None:
    hedged = 0
    for name, row in linked_rows:
        link_hedges = [row[f"hedge{k}"] for k in (1, 2, 3) if row[f"relation{k}"] is not None]
        if any(h is not None for h in link_hedges):
            hedged += 1
            assert row["hedge"] is not None, (name, row)
    assert hedged > 50


def test_the_hedge_of_a_row_is_the_weakest_of_its_links_in_sparql_as_in_python(linked_rows) -> None:
    scale = hedge_scale()
    for name, row in linked_rows:
        links = [row[f"hedge{k}"] for k in (1, 2, 3) if row[f"relation{k}"] is not None]
        expected = scale.weakest([None if h is None else str(h) for h in links])
        assert (None if row["hedge"] is None else str(row["hedge"])) == expected, (name, row)


def test_a_weaker_link_further_down_the_chain_names_the_hedge(linked_rows) -> None:
    # "Diabetes ... causes nerve damage" has no hedge; the links after it do: "can", then "often"
    # or "may" (neither weaker than "can").
    diabetes = {
        tuple(None if r[k] is None else str(r[k]) for k in ("hedge1", "hedge2", "hedge3", "hedge"))
        for name, r in linked_rows
        if name == "conditions-causing-symptom-chains" and str(r["subject1Label"]) == "diabetes"
    }
    assert {(None, "can", "often", "can"), (None, "can", None, "can"), (None, "can", "may", "can")} <= diabetes


# The two symptom questions agree ---------------------------------------------------------------


def _pairs(rows: list[dict]) -> set[tuple]:
    """(condition, symptom, basis, the records' quotes in order) of the presents-with/causes rows."""
    return {
        (r["condition"], r["symptom"], str(r["basis"]), tuple(str(r.get(f"quote{k}")) for k in (1, 2, 3)))
        for r in rows
        if r.get("relation1", CKG.hasSymptom) != CKG.redFlagFor
    }


@pytest.mark.parametrize(
    ("causing", "symptoms", "extra"),
    [
        ("conditions-causing-symptom", "symptoms-of-condition", {}),
        ("conditions-causing-symptom-chains", "symptoms-of-condition-chains", {}),
        ("conditions-causing-symptom-chains", "symptoms-of-condition-chains", {"links": ["3"], "relations": ALL}),
    ],
    ids=["stated", "chains", "chains, 3 links, every relation"],
)  # fmt: skip
def test_if_x_causes_s_then_s_is_a_symptom_of_x(causing: str, symptoms: str, extra: dict) -> None:
    kg = shipped("oxigraph")
    by_symptom = run_for_all(kg, causing, entities(kg, CKG.Symptom), **extra)
    by_condition = run_for_all(kg, symptoms, entities(kg, CKG.Condition), **extra)
    for row in by_symptom:  # the stated query has one quote column
        row.setdefault("quote1", row.get("quote"))
    for row in by_condition:
        row.setdefault("quote1", row.get("quote"))
    assert by_symptom and _pairs(by_symptom) == _pairs(by_condition)


# Red flags --------------------------------------------------------------------------------------


def test_each_sign_shows_the_highest_urgency_any_row_gives_it_and_leads_with_it(oxigraph_kg) -> None:
    graph = vocabulary()
    rank = {level: int(graph.value(level, CKG.rank)) for level in graph.subjects(RDF.type, CKG.UrgencyLevel)}
    for condition in entities(oxigraph_kg, CKG.Condition):
        for name in ("red-flags", "symptoms-of-condition"):
            param = {"condition": [str(condition)]}
            rows = run_query(oxigraph_kg, name, param, index=index_for(oxigraph_kg)).dicts()
            sign = "sign" if name == "red-flags" else "symptom"
            highest: dict = defaultdict(int)
            for row in rows:
                if row["urgency"] is not None:
                    highest[row[sign]] = max(highest[row[sign]], rank[row["urgency"]])
            shown = [rank.get(row["highestUrgency"], 0) for row in rows]
            assert shown == [highest.get(row[sign], 0) for row in rows], (name, condition)
            assert shown == sorted(shown, reverse=True), (name, condition)


def test_an_inherited_red_flag_names_the_condition_it_was_stated_for_and_the_steps(oxigraph_kg) -> None:
    for condition in entities(oxigraph_kg, CKG.Condition):
        rows = run_query(oxigraph_kg, "red-flags", {"condition": [str(condition)]}, index=index_for(oxigraph_kg))
        for row in rows.dicts():
            if str(row["basis"]) == "stated":
                assert row["subject2"] is None
                continue
            # The links read from the record outwards: sign -> stated condition <- ... <- asked condition.
            assert row["condition"] != condition
            assert row["relation2"] == CKG.broader and row["object2"] == row["condition"]
            if row["relation3"] is None:
                assert row["subject2"] == condition
            else:
                assert row["relation3"] == CKG.broader
                assert (row["subject3"], row["object3"]) == (condition, row["subject2"])


TINY = """
@prefix ckg: <https://w3id.org/clinical-kg/vocab/> . @prefix ckgid: <https://w3id.org/clinical-kg/id/> .
@prefix ckga: <https://w3id.org/clinical-kg/assertion/> . @prefix ckgsrc: <https://w3id.org/clinical-kg/source/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
ckgid:spasm a ckg:Condition ; skos:prefLabel "spasm"@en ; ckg:broader ckgid:back-pain .
ckgid:back-pain a ckg:Condition ; skos:prefLabel "back pain"@en .
ckgid:fever a ckg:Symptom ; skos:prefLabel "fever"@en .
ckgid:fever ckg:redFlagFor ckgid:back-pain .
ckga:flag a ckg:Assertion ; rdf:subject ckgid:fever ; rdf:predicate ckg:redFlagFor ; rdf:object ckgid:back-pain ;
    ckg:source ckgsrc:s ; ckg:evidenceQuote "Fever with back pain: go now." ; ckg:urgency ckg:UrgencyEmergency .
ckga:placed a ckg:Assertion ; rdf:subject ckgid:spasm ; rdf:predicate ckg:broader ; rdf:object ckgid:back-pain ;
    ckg:source ckgsrc:s ; ckg:evidenceQuote "Spasms are a common symptom of back pain." ; ckg:hedge "common" .
"""


@pytest.mark.parametrize("store", ["oxigraph", "memory"])
def test_a_step_up_that_a_record_states_shows_its_quote_and_hedge(store: str, tmp_path) -> None:
    path = tmp_path / "tiny.ttl"
    path.write_text(TINY, encoding="utf-8")
    kg = open_graph(store, [resources.vocabulary_file(), path])
    (row,) = run_query(kg, "red-flags", {"condition": [CKGID + "spasm"]}).dicts()
    assert str(row["basis"]) == "inferred (2 links)" and row["condition"] == URIRef(CKGID + "back-pain")
    assert row["quote2"] == Literal("Spasms are a common symptom of back pain.")
    assert str(row["hedge2"]) == "common" and str(row["hedge"]) == "common"
    assert row["highestUrgency"] == CKG.UrgencyEmergency


# Conflicts --------------------------------------------------------------------------------------


def test_conflicts_show_both_records(kg: KnowledgeGraph) -> None:
    rows = run_query(kg, "conflicts").dicts()
    assert rows
    for row in rows:
        assert str(row["kind"]) in ("recorded", "asserted and negated", "opposite effects")
        assert row["assertion1"] != row["assertion2"] and row["quote1"] is not None and row["quote2"] is not None


CONFLICTING = """
@prefix ckg: <https://w3id.org/clinical-kg/vocab/> . @prefix ckgid: <https://w3id.org/clinical-kg/id/> .
@prefix ckga: <https://w3id.org/clinical-kg/assertion/> . @prefix ckgsrc: <https://w3id.org/clinical-kg/source/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
ckgid:spasm a ckg:Condition ; skos:prefLabel "spasm"@en ; ckg:broader ckgid:back-pain .
ckgid:back-pain a ckg:Condition ; skos:prefLabel "back pain"@en .
ckgid:heat a ckg:Treatment ; skos:prefLabel "heat"@en .
ckgid:heat ckg:relievesSymptomsOf ckgid:spasm ; ckg:aggravates ckgid:back-pain .
ckga:helps a ckg:Assertion ; rdf:subject ckgid:heat ; rdf:predicate ckg:relievesSymptomsOf ; rdf:object ckgid:spasm ;
    ckg:source ckgsrc:s ; ckg:evidenceQuote "Heat may ease a spasm." ; ckg:hedge "may" .
ckga:harms a ckg:Assertion ; rdf:subject ckgid:heat ; rdf:predicate ckg:aggravates ; rdf:object ckgid:back-pain ;
    ckg:source ckgsrc:s ; ckg:evidenceQuote "Heat can worsen back pain." ; ckg:hedge "can" .
ckga:denies a ckg:Assertion ; rdf:subject ckgid:heat ; rdf:predicate ckg:aggravates ; rdf:object ckgid:back-pain ;
    ckg:source ckgsrc:t ; ckg:evidenceQuote "Heat does not worsen back pain." ; ckg:negated true .
"""


@pytest.mark.parametrize("store", ["oxigraph", "memory"])
def test_conflicts_find_a_denied_statement_and_opposite_effects_on_a_broader_term(store: str, tmp_path) -> None:
    path = tmp_path / "conflicting.ttl"
    path.write_text(CONFLICTING, encoding="utf-8")
    kg = open_graph(store, [resources.vocabulary_file(), path])
    found = {
        (str(row["kind"]), row["assertion1"].split("/")[-1], row["assertion2"].split("/")[-1])
        for row in run_query(kg, "conflicts").dicts()
    }
    assert found == {("asserted and negated", "harms", "denies"), ("opposite effects", "helps", "harms")}


# The queries read the same everywhere --------------------------------------------------------


def test_catalogue_queries_name_every_column_they_promise() -> None:
    for name in LINKED_QUERIES:
        returns = get_query(name).returns
        for k in (1, 2, 3):
            for column in ("subject", "relation", "object", "hedge", "source", "quote"):
                assert f"{column}{k}" in returns, (name, column, k)
        assert re.search(r"\bhedge\b", " ".join(returns))
