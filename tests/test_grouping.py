"""Grouped catalogue answers (clinical_kg.grouping): exact groups on the shipped data, nothing lost or
made to look stated, paging by groups, the CSV/TSV/JSON forms and ``ckg query --group``."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from click.testing import CliRunner

from clinical_kg.catalogue import load_catalogue, run_grouped, run_query
from clinical_kg.cli import main
from clinical_kg.errors import QueryError
from clinical_kg.grouping import GROUPINGS, group_answer
from clinical_kg.paging import Page
from clinical_kg.results import grouped_csv, grouped_json, grouped_tsv, join_list, split_list
from tests.test_paging import example_values

HEADLINE = {"symptom": ["radiating leg pain"]}
SOURCE = "ckgsrc:how-to-help-muscle-spasms-in-lower-back"
HERNIATED_DISC_QUOTE = (
    "A herniated disc can cause pressure on your sciatic nerve with pain, weakness or numbness shooting down your"
    " leg to your foot."
)
SPASM_QUOTE = "With lower back spasms, pain often radiates to other locations of the body, such as the legs or hips."
SHOOTING = ("ckgid:pain-shooting-down-the-leg-to-the-foot", "pain shooting down the leg to the foot")
RADIATING = ("ckgid:pain-radiating-to-the-legs", "pain radiating to the legs")


def _stated(symptom: tuple[str, str], hedge: str, quote: str) -> dict:
    return {"relation": "ckg:hasSymptom", "symptom": symptom[0], "symptomLabel": symptom[1], "basis": "stated",
            "hedge": hedge, "attributedTo": None, "source": SOURCE, "quote": quote, "evidenceCode": None,
            "reference": None, "frequency": None, "frequencyLabel": None}  # fmt: skip


def _group(condition: str, label: str, symptom: tuple[str, str], hedge: str, quote: str) -> dict:
    return {"condition": condition, "conditionLabel": label,
            "symptoms": [{"symptom": symptom[0], "symptomLabel": symptom[1]}], "bases": ["stated"],
            "symptomCount": 1, "evidenceCount": 1, "evidence": [_stated(symptom, hedge, quote)]}  # fmt: skip


# The headline question grouped: the three conditions the article states, each with its one record.
HEADLINE_GROUPS = [
    _group("ckgid:herniated-disc", "herniated disc", SHOOTING, "can", HERNIATED_DISC_QUOTE),
    _group("ckgid:lower-back-muscle-spasm", "lower back muscle spasm", RADIATING, "often", SPASM_QUOTE),
    _group("ckgid:pressure-on-the-sciatic-nerve", "pressure on the sciatic nerve", SHOOTING, "can",
           HERNIATED_DISC_QUOTE),
]  # fmt: skip

# The chains question grouped, per condition: its bases, its matched symptoms and, per evidence row,
# basis, hedge and the first link's relation and object. Only three conditions have a stated row.
CAUSES_SPASM = ("inferred (2 links)", "can", "ckg:causes", "lower back muscle spasm")
ONLY_INFERRED = ["inferred (2 links)"]
CHAIN_GROUPS = [
    ("arthritis", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("back injury", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("back muscle strain", ONLY_INFERRED, [RADIATING[1]],
     [CAUSES_SPASM, ("inferred (2 links)", "possible", "ckg:causes", "lower back muscle spasm")]),
    ("back sprain", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("cauda equina syndrome", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("compression of the nerves around the back", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("condition of the nerves and spinal cord", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("congenital condition", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("degenerative problem", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("disc tear", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("disease that can trigger back spasms", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("herniated disc", ["stated", "inferred (2 links)"], [SHOOTING[1], RADIATING[1]],
     [("stated", "can", "ckg:hasSymptom", SHOOTING[1]), CAUSES_SPASM,
      ("inferred (2 links)", "can", "ckg:causes", "pressure on the sciatic nerve")]),
    ("infection of the nerves or spinal cord", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("inflammation of the spinal nerves", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("inflammatory disease", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("intervertebral disc degeneration", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("lower back muscle spasm", ["stated"], [RADIATING[1]], [("stated", "often", "ckg:hasSymptom", RADIATING[1])]),
    ("nerve damage", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("pressure on the sciatic nerve", ["stated"], [SHOOTING[1]], [("stated", "can", "ckg:hasSymptom", SHOOTING[1])]),
    ("sciatica", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("scoliosis", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("skeletal irregularity", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("spina bifida", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("spinal stenosis", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("spondylolisthesis", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("spondylosis", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
    ("vertebral compression fracture", ONLY_INFERRED, [RADIATING[1]], [CAUSES_SPASM]),
]  # fmt: skip


def test_the_headline_question_grouped_gives_one_group_per_condition(kg) -> None:
    grouped = run_grouped(kg, "conditions-causing-symptom", HEADLINE)
    assert grouped.total == 3 and grouped.offset == 0
    assert grouped.to_records(curies=True) == HEADLINE_GROUPS


def test_the_chains_question_grouped_keeps_every_rows_basis_and_links(kg) -> None:
    grouped = run_grouped(kg, "conditions-causing-symptom-chains", HEADLINE)
    found = [
        (g["conditionLabel"], g["bases"], [s["symptomLabel"] for s in g["symptoms"]],
         [(e["basis"], e["hedge"], e["relation1"], e["object1Label"]) for e in g["evidence"]])
        for g in grouped.to_records(curies=True)
    ]  # fmt: skip
    assert found == CHAIN_GROUPS
    sciatica = next(g for g in grouped.to_records(curies=True) if g["conditionLabel"] == "sciatica")
    (row,) = sciatica["evidence"]  # both links of the chain, each with its record's hedge, source and quote
    assert (row["subject1"], row["relation1"], row["object1"], row["hedge1"], row["source1"]) == (
        "ckgid:sciatica", "ckg:causes", "ckgid:lower-back-muscle-spasm", "can", SOURCE)  # fmt: skip
    assert "including sciatica, cauda equina syndrome" in row["quote1"]
    assert (row["subject2"], row["relation2"], row["object2"], row["hedge2"], row["quote2"]) == (
        "ckgid:lower-back-muscle-spasm", "ckg:hasSymptom", RADIATING[0], "often", SPASM_QUOTE)  # fmt: skip


@pytest.mark.parametrize("name", sorted(load_catalogue()))
def test_grouping_loses_no_row_and_never_makes_inferred_evidence_look_stated(kg, name: str) -> None:
    values = example_values(name)
    flat = run_query(kg, name, values)
    grouped = group_answer(name, flat)
    key = grouped.grouping.key
    assert set(grouped.grouping.columns()).isdisjoint(grouped.evidence_columns)
    assert set(key) | set(grouped.evidence_columns) == set(flat.variables)
    # every flat row is in exactly one group, as it was (the key put back into its place)
    rebuilt = []
    for group in grouped.groups:
        for row in group.evidence:
            values_of = dict(zip(grouped.evidence_columns, row, strict=True)) | dict(zip(key, group.key, strict=True))
            rebuilt.append(tuple(values_of[v] for v in flat.variables))
    assert Counter(rebuilt) == Counter(flat.rows)
    for group in grouped.groups:
        bases = [str(row[grouped.evidence_columns.index("basis")]) for row in group.evidence]
        assert group.bases == list(dict.fromkeys(bases))  # "stated" only where a row is stated
    if key[1:2] == (f"{key[0]}Label",):  # the key is an answer term and what depends on it alone
        assert len({group.key[0] for group in grouped.groups}) == len(grouped.groups)
    assert grouped.total == len(grouped.groups)


def _terms(groups: list) -> list:
    return [term for group in groups for row in (group.key, *group.listed, *group.evidence) for term in row
            if term is not None]  # fmt: skip


def test_groups_hold_the_engines_terms_and_the_python_api_reads_rdflib_terms(kg) -> None:
    """The writers read the groups as the engine gave them (pyoxigraph's terms on the default engine:
    no conversion, no rdflib); ``groups``, the Python API's, are the same groups in rdflib terms."""
    import pyoxigraph as ox
    from rdflib.term import Node

    from clinical_kg.store import from_oxigraph

    grouped = run_grouped(kg, "conditions-causing-symptom", HEADLINE)
    native, api = _terms(grouped.native_groups), _terms(grouped.groups)
    assert len(native) == len(api) > 0 and all(isinstance(term, Node) for term in api)
    if kg.store_name == "oxigraph":
        assert all(isinstance(term, ox.NamedNode | ox.Literal) for term in native)
        assert [from_oxigraph(term) for term in native] == api
    else:
        assert native == api
    assert [group.bases for group in grouped.native_groups] == [group.bases for group in grouped.groups]
    assert [group.bases for group in grouped.groups] == [["stated"]] * 3


def test_every_catalogue_query_has_a_grouping_over_its_returned_columns() -> None:
    catalogue = load_catalogue()
    assert set(GROUPINGS) == set(catalogue)
    for name, grouping in GROUPINGS.items():
        assert set(grouping.key + grouping.listed) <= set(catalogue[name].returns), name


@pytest.mark.parametrize("name", ["conditions-causing-symptom-chains", "red-flags", "differential-diagnosis"])
def test_pages_of_groups_put_together_are_the_whole_grouped_answer(kg, name: str) -> None:
    values = example_values(name)
    whole = run_grouped(kg, name, values)
    groups, offset = [], 0
    while True:
        page = run_grouped(kg, name, values, page=Page(4, offset))
        assert page.total == whole.total and page.offset == offset
        groups += page.groups
        if len(page.groups) < 4:
            break
        offset += 4
    assert groups == whole.groups


def test_a_page_of_the_headline_question_counts_groups(kg) -> None:
    page = run_grouped(kg, "conditions-causing-symptom", HEADLINE, page=Page(1, 1))
    assert (page.total, page.offset) == (3, 1)
    assert page.to_records(curies=True) == HEADLINE_GROUPS[1:2]


def test_a_query_without_a_grouping_is_refused(oxigraph_kg) -> None:
    flat = run_query(oxigraph_kg, "assertions")
    with pytest.raises(QueryError) as raised:
        group_answer("no-such-question", flat)
    assert raised.value.message == "no-such-question has no grouped form"


@pytest.mark.parametrize("items", [[""], ["a"], ["a", "b"], ["a|b", " x\\y ", "", " | ", "\\", "|"]])
def test_a_list_cell_splits_back_into_its_items(items: list[str]) -> None:
    assert split_list(join_list(items)) == items


def test_grouped_csv_holds_one_row_per_group_with_lists_joined(oxigraph_kg) -> None:
    chains = run_grouped(oxigraph_kg, "conditions-causing-symptom-chains", HEADLINE)
    rows = list(csv.DictReader(io.StringIO(grouped_csv(chains))))
    assert [row["conditionLabel"] for row in rows] == [g[0] for g in CHAIN_GROUPS]
    disc = rows[[g[0] for g in CHAIN_GROUPS].index("herniated disc")]
    assert split_list(disc["symptomLabels"]) == [SHOOTING[1], RADIATING[1]]
    assert split_list(disc["bases"]) == ["stated", "inferred (2 links)"]
    assert (disc["symptomCount"], disc["evidenceCount"]) == ("2", "3")
    assert split_list(disc["basis"]) == ["stated", "inferred (2 links)", "inferred (2 links)"]
    assert split_list(disc["quote1"])[0] == HERNIATED_DISC_QUOTE
    has_symptom = "https://w3id.org/clinical-kg/vocab/hasSymptom"
    assert split_list(disc["relation2"]) == ["", has_symptom, has_symptom]  # the stated row has one link


def test_grouped_tsv_writes_terms_in_n_triples(oxigraph_kg) -> None:
    grouped = run_grouped(oxigraph_kg, "conditions-causing-symptom", HEADLINE, page=Page(1))
    header, row = grouped_tsv(grouped).splitlines()
    cells = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert cells["?condition"] == "<https://w3id.org/clinical-kg/id/herniated-disc>"
    assert cells["?conditionLabel"] == '"herniated disc"@en'
    assert (cells["?bases"], cells["?symptomCount"], cells["?hedge"]) == ('"stated"', "1", '"can"')


def test_grouped_json_keeps_the_terms_types(oxigraph_kg) -> None:
    document = json.loads(grouped_json(run_grouped(oxigraph_kg, "conditions-causing-symptom", HEADLINE)))
    assert document["head"]["key"] == ["condition", "conditionLabel"]
    assert (document["total"], document["offset"], len(document["groups"])) == (3, 0, 3)
    first = document["groups"][0]
    assert first["conditionLabel"] == {"type": "literal", "value": "herniated disc", "xml:lang": "en"}
    assert first["bases"] == ["stated"] and first["evidenceCount"] == 1
    assert first["evidence"][0]["quote"] == {"type": "literal", "value": HERNIATED_DISC_QUOTE}
    assert "attributedTo" not in first["evidence"][0]  # unbound: left out, as in SPARQL JSON


def test_ckg_query_group_prints_groups_and_pages_them() -> None:
    args = ["query", "conditions-causing-symptom", "--param", "symptom=radiating leg pain"]
    flat = CliRunner().invoke(main, [*args, "--format", "csv"])
    flat_again = CliRunner().invoke(main, [*args, "--format", "csv", "--flat"])
    assert flat.exit_code == flat_again.exit_code == 0 and flat.stdout == flat_again.stdout  # flat by default
    grouped = CliRunner().invoke(main, [*args, "--group", "--format", "json"])
    assert grouped.exit_code == 0 and grouped.stderr == ""
    assert [g["conditionLabel"]["value"] for g in json.loads(grouped.stdout)["groups"]] == [
        "herniated disc", "lower back muscle spasm", "pressure on the sciatic nerve"]  # fmt: skip
    page = CliRunner().invoke(main, [*args, "--group", "--format", "csv", "--limit", "1", "--offset", "1"])
    assert page.exit_code == 0
    assert page.stderr == "groups 2-2 of 3; the next page: --offset 2\n"
    (row,) = csv.DictReader(io.StringIO(page.stdout))
    assert (row["conditionLabel"], row["quote"], row["hedge"]) == ("lower back muscle spasm", SPASM_QUOTE, "often")
    table = CliRunner().invoke(main, [*args, "--group"], env={"COLUMNS": "200"})  # shown in full in the README
    assert table.exit_code == 0
    assert table.stdout.splitlines()[-1] == "3 conditions (groups), 3 evidence rows"
    assert "│ lower back muscle spasm       │ pain radiating to the legs             │ stated │ - stated [often];" in (
        table.stdout
    )
