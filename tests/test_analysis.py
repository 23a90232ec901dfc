"""The analyses (clinical_kg.analysis): the networkx conversion, hubs, explanation paths, the ranked
differential and the drawings, against hand-computed answers on a small graph
(tests/fixtures/analysis/graph.ttl, drawn in its header) and on the shipped data."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import URIRef

from clinical_kg.analysis.differential import differential
from clinical_kg.analysis.hubs import hubs
from clinical_kg.analysis.network import CKG, clinical_graph, label, urgency_levels
from clinical_kg.analysis.paths import explanation_paths
from clinical_kg.catalogue import run_query
from clinical_kg.cli import main
from clinical_kg.resources import vocabulary_file
from clinical_kg.store import KnowledgeGraph, open_graph

FIXTURE = Path(__file__).parent / "fixtures" / "analysis" / "graph.ttl"
EX = "https://example.org/"
ID = "https://w3id.org/clinical-kg/id/"


@pytest.fixture(scope="module")
def small() -> KnowledgeGraph:
    return open_graph(files=[vocabulary_file(), FIXTURE])


@pytest.fixture(scope="module")
def graph(small: KnowledgeGraph):
    return clinical_graph(small)


@pytest.fixture(scope="module")
def shipped_graph(oxigraph_kg_module: KnowledgeGraph):
    return clinical_graph(oxigraph_kg_module)


@pytest.fixture(scope="module")
def oxigraph_kg_module() -> KnowledgeGraph:
    from tests.conftest import shipped

    return shipped("oxigraph")


def labels(graph, path) -> list[tuple[str, str, str, str | None]]:
    return [(label(graph, h.subject), h.relation.removeprefix(CKG), label(graph, h.object), h.hedge) for h in path.hops]


# The conversion ---------------------------------------------------------------------------------


def test_records_are_folded_into_their_statement_and_denials_kept_apart(graph) -> None:
    edge = graph.edges[EX + "cause-a", EX + "alpha", CKG + "causes"]
    assert [r.iri for r in edge["records"]] == [EX + "r01"]
    assert edge["records"][0].quote == "Cause A leads to alpha." and edge["records"][0].hedge is None
    denied = graph.edges[EX + "beta", EX + "numbness", "not " + CKG + "hasSymptom"]
    assert denied["negated"] is True and [r.iri for r in denied["records"]] == [EX + "r08"]
    assert not graph.has_edge(EX + "beta", EX + "numbness", CKG + "hasSymptom")
    assert graph.has_edge(EX + "leg-pain", EX + "pain", "broader")
    assert graph.edges[EX + "gamma", EX + "numbness", CKG + "hasSymptom"]["records"][0].frequency == 0.3
    assert {n: graph.nodes[n]["kind"] for n in (EX + "alpha", EX + "pain", EX + "cause-b")} == {
        EX + "alpha": "Condition", EX + "pain": "Symptom", EX + "cause-b": "Cause"}  # fmt: skip


def test_the_conversion_is_built_once_per_version_of_the_graph() -> None:
    kg = open_graph(files=[vocabulary_file(), FIXTURE])
    first = clinical_graph(kg)
    assert clinical_graph(kg) is first
    kg.changed()
    assert clinical_graph(kg) is not first


def test_the_conversion_is_the_same_on_both_stores(graph) -> None:
    memory = clinical_graph(open_graph("memory", files=[vocabulary_file(), FIXTURE]))
    assert sorted(memory.edges(keys=True)) == sorted(graph.edges(keys=True))
    assert dict(memory.nodes(data=True)) == dict(graph.nodes(data=True))


# Hubs -------------------------------------------------------------------------------------------


def test_hubs_by_degree_and_betweenness(graph) -> None:
    answer = hubs(graph, ("Condition", "Cause"), top=3)
    assert [(h.label, h.degree, h.in_degree, h.out_degree) for h in answer.by_kind["Condition"]] == [
        ("alpha", 5, 3, 2), ("gamma", 3, 1, 2), ("beta", 3, 2, 1)]  # fmt: skip
    assert [(h.label, h.degree) for h in answer.by_kind["Cause"]] == [("cause a", 3), ("cause b", 1)]
    # Through gamma pass the only shortest paths from alpha, cause a, cause b, delta and leg pain
    # to numbness and rare sign: 10 of the 10 x 9 ordered pairs of the other entities.
    gamma = answer.by_kind["Condition"][1]
    assert gamma.betweenness == pytest.approx(10 / 90) and answer.sampled is None


# Paths ------------------------------------------------------------------------------------------


def test_the_best_paths_first_each_hop_with_its_hedge(graph) -> None:
    answer = explanation_paths(graph, EX + "cause-a", EX + "leg-pain", k=5)
    assert [labels(graph, p) for p in answer.paths] == [
        [("cause a", "causes", "delta", None), ("delta", "hasSymptom", "leg pain", None)],
        [("cause a", "causes", "alpha", None), ("alpha", "hasSymptom", "radiating leg pain", "often")],
    ]
    flat, hedged = answer.paths
    assert (flat.hedge, flat.basis, flat.end) == (None, "inferred (2 links)", EX + "leg-pain")
    assert (hedged.hedge, hedged.end) == ("often", EX + "radiating-leg-pain")  # narrower than leg pain
    assert [p.hops[0].records[0].quote for p in answer.paths] == ["Cause A leads to delta.", "Cause A leads to alpha."]


def test_no_path_within_the_length_and_a_denied_statement_is_never_followed(graph) -> None:
    # cause a -may-> beta -NOT hasSymptom-> numbness would be two links: it is denied.
    assert explanation_paths(graph, EX + "cause-a", EX + "numbness").paths == []
    longer = explanation_paths(graph, EX + "cause-a", EX + "numbness", max_length=3)
    assert [labels(graph, p) for p in longer.paths] == [[
        ("cause a", "causes", "alpha", None), ("alpha", "causes", "gamma", "often"),
        ("gamma", "hasSymptom", "numbness", "can")]]  # fmt: skip
    assert (longer.paths[0].hedge, longer.paths[0].basis) == ("can", "inferred (3 links)")


def test_the_relations_asked_for_and_the_other_direction(graph) -> None:
    assert explanation_paths(graph, EX + "cause-b", EX + "radiating-leg-pain").paths == []
    wider = explanation_paths(graph, EX + "cause-b", EX + "radiating-leg-pain",
                              relations=(CKG + "causes", CKG + "contributesTo"))  # fmt: skip
    assert [labels(graph, p) for p in wider.paths] == [
        [("cause b", "contributesTo", "alpha", "can"), ("alpha", "hasSymptom", "radiating leg pain", "often")]
    ]
    assert wider.paths[0].hedge == "can"
    back = explanation_paths(graph, EX + "leg-pain", EX + "cause-a")
    assert back.paths == [] and back.reverse is True


def test_poor_posture_to_radiating_leg_pain_on_the_shipped_data(shipped_graph) -> None:
    answer = explanation_paths(shipped_graph, ID + "poor-posture", ID + "radiating-leg-pain", max_length=3, k=5)
    assert [labels(shipped_graph, p) for p in answer.paths] == [
        [("poor posture", "causes", "lower back muscle spasm", None),
         ("lower back muscle spasm", "hasSymptom", "pain radiating to the legs", "often")],
        [("poor posture", "causes", "back muscle strain", None),
         ("back muscle strain", "causes", "lower back muscle spasm", "can"),
         ("lower back muscle spasm", "hasSymptom", "pain radiating to the legs", "often")],
    ]  # fmt: skip
    assert [p.hedge for p in answer.paths] == ["often", "can"]


def test_a_hedged_hop_is_never_shown_unhedged(shipped_graph) -> None:
    import networkx as nx

    from clinical_kg.analysis.network import statements
    from clinical_kg.hedges import hedge_scale

    links = statements(shipped_graph, {CKG + "causes", CKG + "hasSymptom"})
    starts = [n for n, kind in links.nodes(data="kind") if kind in ("Cause", "Condition")]
    hops = 0
    for start in starts:
        near = nx.single_source_shortest_path_length(links, start, cutoff=2)
        for end in (n for n in near if links.nodes[n]["kind"] == "Symptom"):
            for path in explanation_paths(shipped_graph, start, end, k=20).paths:
                for hop in path.hops:
                    hops += 1
                    if all(r.hedge for r in hop.records):
                        assert hop.hedge is not None
                    assert hop.hedge in {r.hedge for r in hop.records}
                if any(hop.hedge for hop in path.hops):
                    assert path.hedge is not None
                strengths = [hedge_scale().strength(hop.hedge) for hop in path.hops]
                assert hedge_scale().strength(path.hedge) == min(strengths)
    assert hops > 100


@pytest.mark.parametrize("symptom", ["radiating leg pain", "leg pain", "pain", "muscle spasm", "muscle stiffness"])
def test_paths_from_each_condition_are_the_chains_of_the_catalogue_query(
    oxigraph_kg_module, shipped_graph, symptom: str
) -> None:
    """The links of ckg path from every condition to a symptom are those of the rows of
    conditions-causing-symptom-chains (default rules: ckg:causes, two links), and a path's weakest
    hedge is that of its strongest row (the rows give one record per link)."""
    from clinical_kg.hedges import hedge_scale
    from clinical_kg.terms import TermIndex

    scale = hedge_scale()
    rows = run_query(oxigraph_kg_module, "conditions-causing-symptom-chains", {"symptom": [symptom]}).dicts()
    assert rows
    chains: dict[tuple, list] = {}
    for row in rows:
        links = 1 if str(row["basis"]) == "stated" else int(str(row["basis"]).split("(")[1].split()[0])
        hops = tuple((str(row[f"subject{i}"]), str(row[f"relation{i}"]), str(row[f"object{i}"]))
                     for i in range(1, links + 1))  # fmt: skip
        chains.setdefault(hops, []).append(row)
    target = str(TermIndex(oxigraph_kg_module).resolve(symptom, expected=URIRef(CKG + "Symptom")))
    found: dict[tuple, object] = {}
    for condition in {hops[0][0] for hops in chains}:
        for path in explanation_paths(shipped_graph, condition, target, k=10_000).paths:
            found[tuple((h.subject, h.relation, h.object) for h in path.hops)] = path
    assert set(found) == set(chains)
    for hops, path in found.items():
        strongest_row = max(scale.strength(str(r["hedge"]) if r["hedge"] is not None else None) for r in chains[hops])
        assert scale.strength(path.hedge) == strongest_row, hops
        assert path.basis == str(chains[hops][0]["basis"])
        for number, hop in enumerate(path.hops, 1):
            assert {str(r[f"quote{number}"]) for r in chains[hops]} <= {rec.quote for rec in hop.records}


# The differential -------------------------------------------------------------------------------


def test_the_differential_on_the_small_graph(small: KnowledgeGraph, graph) -> None:
    answer = differential(graph, [EX + "leg-pain", EX + "numbness"], urgency=urgency_levels(small))
    # 4 conditions have symptoms (alpha, beta, delta, gamma); 2 have leg pain or a narrower one
    # (alpha, delta): IC = ln 2; only gamma has numbness: IC = ln 4.
    assert answer.conditions == 4
    assert answer.information == {EX + "leg-pain": math.log(2), EX + "numbness": math.log(4)}
    ranked = [(label(graph, c.condition), c.explained, round(c.score, 6)) for c in answer.ranked]
    assert ranked == [
        ("alpha", 1, round(math.log(2) / 2, 6)),  # leg pain, through radiating leg pain
        ("delta", 1, round(math.log(2) / 2, 6)),  # leg pain itself
        ("gamma", 1, round(0.3 * math.log(4) / 2, 6)),  # numbness in 3 of 10 cases
        # pain is shared with leg pain (IC of pain: 3 of 4 conditions, ln 4/3); numbness is denied
        ("beta", 0, round((math.log(4 / 3) - math.log(4)) / 2, 6)),
    ]
    beta = answer.ranked[-1]
    assert [(m.how, label(graph, m.shared), m.basis) for m in beta.matches] == [
        ("partly", "pain", "inferred (a related symptom)"), ("contradicts", "numbness", "stated")]  # fmt: skip
    assert {m.basis for c in answer.ranked[:3] for m in c.matches} == {"stated"}
    # red flags: leg pain itself first, then the narrower radiating leg pain
    assert [(label(graph, f.symptom), label(graph, f.condition), f.direct, f.record.urgency.removeprefix(CKG))
            for f in answer.red_flags] == [("leg pain", "alpha", True, "UrgencyEmergency"),
                                           ("radiating leg pain", "beta", False, "UrgencySoon")]  # fmt: skip


def test_the_differential_from_one_source(graph) -> None:
    answer = differential(graph, [EX + "leg-pain", EX + "numbness"], sources={EX + "text-two"})
    # text two: beta has pain and not numbness, gamma numbness (3/10) and rare sign in 0 of 12 (denied)
    assert answer.conditions == 2
    assert [(label(graph, c.condition), round(c.score, 6)) for c in answer.ranked] == [
        ("gamma", round(0.3 * math.log(2) / 2, 6)), ("beta", 0.0)]  # fmt: skip
    assert answer.red_flags == []  # the red flags are in text one


def test_a_denial_of_a_broader_symptom_counts_against_as_an_inference(graph) -> None:
    # beta is denied numbness; asked about a (made-up) narrower hand numbness, the denial is read
    # from the broader term: inferred, never shown as what the source states.
    wider = graph.copy()
    wider.add_node(EX + "hand-numbness", label="hand numbness", cls=CKG + "Symptom", kind="Symptom")
    wider.add_edge(EX + "hand-numbness", EX + "numbness", key="broader", kind="broader", relation="broader",
                   negated=False, records=())  # fmt: skip
    answer = differential(wider, [EX + "hand-numbness"])
    (beta,) = [c for c in answer.ranked if c.condition == EX + "beta"]
    assert [(m.how, label(wider, m.shared), m.basis) for m in beta.matches] == [
        ("contradicts", "numbness", "inferred (a broader symptom denied)")]  # fmt: skip


def _catalogue_counts(kg: KnowledgeGraph, symptoms: list[str]) -> dict[str, int]:
    rows = run_query(kg, "differential-diagnosis", {"symptoms": symptoms}).dicts()
    return {str(r["condition"]): int(r["explained"]) for r in rows if int(r["explained"]) > 0}


@pytest.mark.parametrize("symptoms", [
    ["numbness", "muscle weakness"], ["numbness", "muscle weakness", "leg pain"], ["pain"],
    ["muscle spasm", "muscle stiffness"], ["radiating leg pain", "loss of bladder control"]])  # fmt: skip
def test_the_explained_counts_agree_with_the_catalogue_query(oxigraph_kg_module, shipped_graph, symptoms) -> None:
    from clinical_kg.terms import TermIndex

    index = TermIndex(oxigraph_kg_module)
    given = [str(index.resolve(s, expected=URIRef(CKG + "Symptom"))) for s in symptoms]
    answer = differential(shipped_graph, given, top=1000)
    mine = {c.condition: c.explained for c in answer.ranked if c.explained}
    assert mine == _catalogue_counts(oxigraph_kg_module, symptoms) and mine


@pytest.mark.parametrize("symptoms", [
    ["numbness", "muscle weakness", "leg pain"], ["pain", "muscle spasm", "fever"], ["loss of bladder control"],
])  # fmt: skip
def test_the_red_flags_are_those_of_the_catalogue_query(oxigraph_kg_module, shipped_graph, symptoms) -> None:
    from clinical_kg.terms import TermIndex

    index = TermIndex(oxigraph_kg_module)
    given = [str(index.resolve(s, expected=URIRef(CKG + "Symptom"))) for s in symptoms]
    answer = differential(shipped_graph, given, urgency=urgency_levels(oxigraph_kg_module))
    mine = {(f.symptom, f.condition, f.record.urgency, f.record.quote) for f in answer.red_flags}
    rows = run_query(oxigraph_kg_module, "differential-diagnosis", {"symptoms": symptoms}).dicts()
    theirs = {(str(r["matched"]), str(r["condition"]), str(r["urgency"]), str(r["quote"]))
              for r in rows if str(r["relation"]) == CKG + "redFlagFor"}  # fmt: skip
    assert mine == theirs and mine
    ranks = [urgency_levels(oxigraph_kg_module)[f.record.urgency][0] for f in answer.red_flags if not f.direct]
    assert ranks == sorted(ranks, reverse=True)  # the most urgent first


def test_a_red_flag_reaches_the_conditions_under_its_own_as_the_red_flags_query_does(
    oxigraph_kg_module, shipped_graph
) -> None:
    """Leg pain is stated as a red flag of low back pain; the spasm, acute and chronic low back pain
    are one ckg:broader step below it, idiopathic back spasm two: the flag applies to each, inferred,
    and each one's red-flags answer lists it with the same record."""
    answer = differential(shipped_graph, [ID + "leg-pain"], urgency=urgency_levels(oxigraph_kg_module))
    (flag,) = [f for f in answer.red_flags if f.direct and f.condition == ID + "low-back-pain"]
    assert [(label(shipped_graph, c), steps) for c, steps in flag.reaches] == [
        ("acute low back pain", 1), ("chronic low back pain", 1), ("lower back muscle spasm", 1),
        ("idiopathic back spasm", 2)]  # fmt: skip
    for condition, steps in flag.reaches:
        rows = run_query(oxigraph_kg_module, "red-flags", {"condition": [condition]}).dicts()
        assert any(str(r["sign"]) == ID + "leg-pain" and str(r["condition"]) == ID + "low-back-pain"
                   and str(r["quote1"]) == flag.record.quote and str(r["basis"]) == f"inferred ({steps + 1} links)"
                   for r in rows), condition  # fmt: skip
    assert flag.to_dict(shipped_graph)["also_applies_to"][-1] == {
        "condition": "ckgid:idiopathic-back-spasm",
        "label": "idiopathic back spasm",
        "basis": "inferred (3 links)",
    }


@pytest.fixture(scope="module")
def with_hpo(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    """The shipped data with the HPO fixture imported, on an on-disk store (conftest.with_hpo_fixture)."""
    from tests.conftest import with_hpo_fixture

    return with_hpo_fixture("oxigraph", tmp_path_factory.mktemp("analysis-with-hpo"))


@pytest.mark.parametrize(("source", "asked", "expected"), [
    ((), None, {"OMIM:609153": 1, "OMIM:615156": 1, "ORPHA:231445": 1, "ORPHA:2356": 1,
          "ckgid:anatomical-problem-of-the-spine": 1, "ckgid:low-back-pain": 1,
          "ckgid:lower-back-muscle-spasm": 1, "ckgid:spinal-instability": 1}),
    (("curated",), "curated", {"ckgid:anatomical-problem-of-the-spine": 1, "ckgid:low-back-pain": 1,
                    "ckgid:lower-back-muscle-spasm": 1, "ckgid:spinal-instability": 1}),
    (("hpoa",), "hpoa", {"OMIM:609153": 1, "OMIM:615156": 1, "ORPHA:231445": 1, "ORPHA:2356": 1}),
    # two names of the one release: the catalogue takes one
    (("ckgsrc:hpoa-2025-01-16", "HPO annotations"), "hpoa", {"OMIM:609153": 1, "OMIM:615156": 1,
                                                             "ORPHA:231445": 1, "ORPHA:2356": 1}),
])  # fmt: skip
def test_the_differential_of_a_source_is_the_catalogue_query_of_that_source(with_hpo, source, asked, expected) -> None:
    """--source names sources as the catalogue's source parameter does (a series for its releases,
    curated, a title), and keeps the conditions and red flags the query gives for it. 'sciatica' is a
    condition in the article and, as a symptom, HP:0011868 (its exact match)."""
    from clinical_kg.analysis.questions import ask_differential
    from clinical_kg.results import compact

    symptoms = ["muscle spasm", "sciatica"]
    answer = ask_differential(with_hpo, symptoms, 1000, source)
    mine = {compact(URIRef(c.condition)): c.explained for c in answer.ranked if c.explained}
    params = {"symptoms": symptoms, **({"source": [asked]} if asked else {})}
    rows = run_query(with_hpo, "differential-diagnosis", params).dicts()
    flags = [r for r in rows if str(r["relation"]) == CKG + "redFlagFor"]
    theirs = {compact(r["condition"]): int(r["explained"]) for r in rows if r not in flags}
    assert mine == theirs == expected
    assert {(f.symptom, f.condition, f.record.quote) for f in answer.red_flags} == {
        (str(r["matched"]), str(r["condition"]), str(r["quote"])) for r in flags}  # fmt: skip
    assert bool(flags) == (asked != "hpoa")  # the red flags are the article's


def test_differential_names_a_source_as_the_catalogue_does(with_hpo) -> None:
    from clinical_kg.analysis.questions import ask_differential
    from clinical_kg.errors import UnknownTermError

    with pytest.raises(UnknownTermError) as raised:
        ask_differential(with_hpo, ["muscle spasm"], 10, ["wikipedia"])
    assert str(raised.value) == (
        "--source='wikipedia' names no source of the graph\n"
        "  hint: name curated, hpo, hpoa, or a source's IRI, CURIE or title"
    )


def test_the_explained_counts_agree_with_the_catalogue_query_on_the_small_graph(small, graph) -> None:
    answer = differential(graph, [EX + "leg-pain", EX + "numbness"])
    mine = {c.condition: c.explained for c in answer.ranked if c.explained}
    assert mine == _catalogue_counts(small, [EX + "leg-pain", EX + "numbness"]) == {
        EX + "alpha": 1, EX + "delta": 1, EX + "gamma": 1}  # fmt: skip


# Drawings ---------------------------------------------------------------------------------------


def test_a_neighbourhood_does_not_walk_through_hubs(shipped_graph) -> None:
    from clinical_kg.analysis.draw import HUB_DEGREE, neighbourhood

    hood = neighbourhood(shipped_graph, ID + "herniated-disc", depth=2, max_nodes=30)
    spasm = ID + "lower-back-muscle-spasm"
    assert hood.depth[spasm] == 1 and spasm in hood.hubs  # drawn, not walked through
    assert len(hood.graph) <= 30 and hood.left_out > 50
    for node, step in hood.depth.items():
        if step == 2:  # reached through an entity that is not a hub
            assert any(hood.depth.get(n) == 1 and n not in hood.hubs for n in shipped_graph.to_undirected(
                as_view=True).neighbors(node))  # fmt: skip
    assert HUB_DEGREE < 114


def test_the_neighbourhood_svg_holds_the_labels_of_its_neighbours(shipped_graph, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from clinical_kg.analysis.draw import draw_neighbourhood, neighbourhood

    out = draw_neighbourhood(shipped_graph, ID + "sciatica", tmp_path / "sciatica.svg")
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert 10_000 < out.stat().st_size < 1_000_000
    text = " ".join(t.strip() for t in root.itertext())
    neighbours = neighbourhood(shipped_graph, ID + "sciatica").graph
    for node in neighbours:
        for word in label(shipped_graph, node).split():
            assert word in text
    assert "hedged" in text and "stated flatly" in text  # the legend


def test_png_and_the_schema(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image

    result = CliRunner().invoke(main, ["draw", "--schema", "--out", str(tmp_path / "schema.png")])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "schema.png") as image:
        assert image.format == "PNG" and 800 < image.width < 3000 and 600 < image.height < 3000
    result = CliRunner().invoke(main, ["draw", "--schema", "--out", str(tmp_path / "schema.svg")])
    text = " ".join(ET.parse(tmp_path / "schema.svg").getroot().itertext())
    for name in ("ckg:Condition", "ckg:Symptom", "hasSymptom", "redFlagFor", "diagnoses", "attributedTo"):
        assert name in text
    assert "symptomOf" not in text  # inverse relations are left out


def test_draw_refuses_a_format_it_cannot_tell_and_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["draw", "sciatica", "--out", str(tmp_path / "sciatica.pdf")])
    assert result.exit_code == 2 and "cannot tell the picture format" in result.output
    assert list(tmp_path.iterdir()) == []
    result = CliRunner().invoke(main, ["draw"])
    assert result.exit_code == 2 and "give a TERM to draw, or --schema" in result.output


# The commands -----------------------------------------------------------------------------------


def test_path_says_when_there_is_no_path() -> None:
    result = CliRunner().invoke(main, ["path", "leg pain", "poor posture"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "no path from leg pain to poor posture within 2 links (links: ckg:causes; the last may also be ckg:hasSymptom)",
        "  but poor posture leads to leg pain: try `ckg path` the other way",
    ]


def test_differential_names_an_unknown_symptom_and_a_wrong_source() -> None:
    result = CliRunner().invoke(main, ["differential", "numbness", "back pain"])
    assert result.exit_code == 2 and "names ckgid:back-pain (back pain), a condition, not a symptom" in result.output
    result = CliRunner().invoke(main, ["differential", "numbness", "--source", "ckgsrc:nowhere"])
    assert result.exit_code == 2 and result.output == (
        "error: --source='ckgsrc:nowhere' names no source of the graph\n"
        "  hint: name curated, or a source's IRI, CURIE or title\n"
    )


def test_the_drawings_the_readme_shows_are_in_docs_and_the_schema_is_current() -> None:
    pytest.importorskip("matplotlib")
    from rdflib import Graph

    from clinical_kg.analysis.draw import render_schema
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("docs/schema.svg", "docs/neighbourhood-herniated-disc.svg"):
        assert f"]({name})" in readme
        assert ET.parse(ROOT / name).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    fresh = ET.fromstring(render_schema(Graph().parse(vocabulary_file(), format="turtle")))
    committed = ET.parse(ROOT / "docs" / "schema.svg").getroot()
    assert sorted(committed.itertext()) == sorted(fresh.itertext()), (
        "the vocabulary changed: redraw it with `ckg draw --schema --out docs/schema.svg`"
    )


def test_the_neighbourhood_drawing_in_docs_is_that_of_the_data_as_it_is(shipped_graph) -> None:
    pytest.importorskip("matplotlib")
    from clinical_kg.analysis.draw import render_neighbourhood
    from tests.conftest import ROOT

    fresh = ET.fromstring(render_neighbourhood(shipped_graph, ID + "herniated-disc", "svg", 2, 30))
    committed = ET.parse(ROOT / "docs" / "neighbourhood-herniated-disc.svg").getroot()
    assert sorted(committed.itertext()) == sorted(fresh.itertext()), (
        "the data changed: redraw it with `ckg draw 'herniated disc' --out docs/neighbourhood-herniated-disc.svg`"
    )
