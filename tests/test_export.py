"""Exports and releases: every format reads back as the graph, loads in its tools, and is the same bytes every time.

The shipped graph is exported once per format into a module folder; round trips compare graphs with
``rdflib.compare`` (never text), counts are checked against SPARQL over the graph ``open_graph`` loads, KGX
terms against the ``biolink-model`` package's schema and the KGX validator, offline. Determinism is checked
across processes with different hash seeds. Release tests work on a copy of ``data/`` (``CKG_DATA_DIR``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml
from click.testing import CliRunner
from rdflib import RDF, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from clinical_kg import resources
from clinical_kg.canonical import assertion_iri, fold_whitespace
from clinical_kg.cli import main
from clinical_kg.errors import InputError
from clinical_kg.export import FORMATS, export, get_exporter
from clinical_kg.export.graph import load_graph, union_graph
from clinical_kg.export.jsonld import CONTEXT_IRI, context, context_file
from clinical_kg.export.release import find_previous
from clinical_kg.namespaces import prefix_map
from clinical_kg.store import open_graph
from clinical_kg.vocab import CKG
from tests.conftest import ROOT

ISSUE_FORMATS = ["turtle", "ntriples", "nquads", "rdfxml", "jsonld", "kgx", "graphml", "nodelink", "csv"]
RDF_FORMATS = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld"}
CKGID = prefix_map()["ckgid"]
PREFIXES = "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in prefix_map().items())
ENTITIES = PREFIXES + (
    "\nSELECT DISTINCT ?e WHERE { ?e a ?class . "
    "FILTER (STRSTARTS(STR(?class), STR(ckg:)) && STRSTARTS(STR(?e), STR(ckgid:))) }"
)
ENTITY_RECORDS = PREFIXES + "\nSELECT ?a WHERE { ?a a ckg:Assertion ; rdf:object ?o . FILTER isIRI(?o) }"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_graph()


@pytest.fixture(scope="module")
def exported(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every format of the shipped graph, written once, under its default name."""
    folder = tmp_path_factory.mktemp("export")
    for name, entry in FORMATS.items():
        export(dataset, name, folder / entry.default_name)
    return folder


@cache
def shipped_counts() -> tuple[set[str], set[str]]:
    """Entity IRIs and the IRIs of assertion records between entities, by SPARQL over open_graph's graph."""
    kg = open_graph()
    return {str(r[0]) for r in kg.query(ENTITIES).rows}, {str(r[0]) for r in kg.query(ENTITY_RECORDS).rows}


def curie(iri: str) -> str:
    for prefix, namespace in sorted(prefix_map().items(), key=lambda item: -len(item[1])):
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


# 1. The registry


def test_registry_has_the_issue_formats_and_every_exporter_loads() -> None:
    assert list(FORMATS) == ISSUE_FORMATS
    for name, entry in FORMATS.items():
        assert callable(get_exporter(name)), name
        assert entry.default_name and entry.description


def test_unknown_format_names_the_registered_ones() -> None:
    with pytest.raises(InputError) as error:
        get_exporter("yaml")
    assert error.value.hint == "choose one of: " + ", ".join(ISSUE_FORMATS)


def test_the_exported_graph_is_the_graph_open_graph_loads(dataset: Dataset) -> None:
    assert isomorphic(union_graph(dataset), open_graph().memory_graph())


# 2. Round trips


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's JSON-LD parser uses its own deprecated API
@pytest.mark.parametrize("fmt", sorted(RDF_FORMATS))
def test_rdf_export_reads_back_isomorphic(fmt: str, exported: Path, dataset: Dataset) -> None:
    back = Graph().parse(exported / FORMATS[fmt].default_name, format=RDF_FORMATS[fmt])
    assert isomorphic(back, union_graph(dataset))


def test_ntriples_lines_are_sorted_with_canonical_blank_nodes(exported: Path) -> None:
    lines = (exported / "clinical-kg.nt").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(set(lines))
    blank = {term for line in lines for term in line.split() if term.startswith("_:")}
    assert blank and all(re.fullmatch(r"_:c14n\d+", term) for term in blank)  # RDFC-1.0 labels


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's N-Quads parser uses its own deprecated API
def test_nquads_keep_the_file_each_triple_came_from(exported: Path, dataset: Dataset) -> None:
    back = Dataset()
    back.parse(exported / "clinical-kg.nq", format="nquads")
    names = {g.identifier for g in back.graphs() if len(g) and g.identifier != DATASET_DEFAULT_GRAPH_ID}
    expected = {URIRef(prefix_map()["ckg"])} | {
        URIRef(prefix_map()["ckgds"] + path.stem) for path in resources.data_files()
    }
    assert names == expected
    for name in names:
        assert isomorphic(back.graph(name), dataset.graph(name)), name
    assert len(back.default_graph) == 0
    union = Graph()
    for s, p, o, _g in back.quads((None, None, None, None)):
        union.add((s, p, o))
    assert isomorphic(union, union_graph(dataset))
    # A record stays in the named graph of the file it is in, and only there.
    causation = URIRef(prefix_map()["ckgds"] + "assertions-causation")
    record = next(iter(dataset.graph(causation).subjects(RDF.type, CKG.Assertion)))
    assert [g.identifier for g in back.graphs() if (record, RDF.type, CKG.Assertion) in g] == [causation]


def test_a_plain_graph_exports_to_the_default_graph_with_canonical_blank_nodes(tmp_path: Path) -> None:
    turtle = "@prefix ex: <http://example.org/> . ex:a ex:p [ ex:q ( ex:b ex:c ) ] ."
    first, second = Graph().parse(data=turtle, format="turtle"), Graph().parse(data=turtle, format="turtle")
    a = export(first, "nquads", tmp_path / "a.nq")[0].read_text(encoding="utf-8")
    b = export(second, "nquads", tmp_path / "b.nq")[0].read_text(encoding="utf-8")
    assert a == b and all(len(line.split()) == 4 for line in a.splitlines())  # s p o . : no graph term
    assert isomorphic(Graph().parse(data=a, format="nt"), first)


def refuse_network(url: str, options: dict | None = None) -> dict:
    raise AssertionError(f"the JSON-LD processor tried to fetch {url}")


def test_jsonld_embeds_the_shipped_context_and_expands_without_the_network(exported: Path, dataset: Dataset) -> None:
    from pyld import jsonld

    document = json.loads((exported / "clinical-kg.jsonld").read_text(encoding="utf-8"))
    assert {"@context": document["@context"]} == json.loads(context_file().read_text(encoding="utf-8"))
    expanded = jsonld.expand(document, {"documentLoader": refuse_network})
    nquads = jsonld.to_rdf(expanded, {"format": "application/n-quads", "documentLoader": refuse_network})
    assert isomorphic(Graph().parse(data=nquads, format="nt"), union_graph(dataset))


def test_jsonld_referring_to_the_published_context_reads_with_a_local_loader(exported: Path, dataset: Dataset) -> None:
    from pyld import jsonld

    served = []

    def local_only(url: str, options: dict | None = None) -> dict:
        assert url == CONTEXT_IRI, f"tried to fetch {url}"
        served.append(url)
        return {"contextUrl": None, "documentUrl": url, "document": json.loads(context_file().read_text("utf-8"))}

    document = json.loads((exported / "clinical-kg.jsonld").read_text(encoding="utf-8"))
    document["@context"] = CONTEXT_IRI
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": local_only})
    assert served
    assert isomorphic(Graph().parse(data=nquads, format="nt"), union_graph(dataset))


def test_jsonld_keys_are_readable(exported: Path) -> None:
    nodes = {n["id"]: n for n in json.loads((exported / "clinical-kg.jsonld").read_text("utf-8"))["@graph"]}
    sciatica = nodes["ckgid:sciatica"]
    assert sciatica["type"] == "Condition" and sciatica["label"] == "sciatica"
    assert isinstance(sciatica["synonyms"], list)
    records = [n for n in nodes.values() if n.get("type") == "Assertion"]
    assert records
    for record in records:
        assert list(record)[:5] == ["id", "type", "subject", "predicate", "object"] or "rdf:object" in record
        assert isinstance(record["quote"], str) and record["source"].startswith("ckgsrc:")


def test_context_covers_the_vocabulary_and_the_prefixes() -> None:
    terms = context()["@context"]
    for prefix, namespace in prefix_map().items():
        assert terms[prefix] == namespace
    defined = {(t if isinstance(t, str) else t["@id"]) for t in terms.values()}
    vocabulary = Graph().parse(resources.vocabulary_file())
    ckg = prefix_map()["ckg"]
    names = {str(s) for s in set(vocabulary.subjects()) if isinstance(s, URIRef) and str(s).startswith(ckg)} - {ckg}
    missing = {name for name in names if "ckg:" + name[len(ckg) :] not in defined}
    assert not missing, f"terms of the vocabulary without a key in ontology/context.jsonld: {sorted(missing)}"


def test_context_ships_in_the_wheel() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"ontology" = "clinical_kg/ontology"' in pyproject  # the whole folder, context.jsonld included
    assert context_file() == resources.ontology_dir() / "context.jsonld" and context_file().is_file()


# 3. Networks


@pytest.mark.parametrize("fmt", ["graphml", "nodelink"])
def test_network_loads_in_networkx_with_one_node_per_entity_and_one_edge_per_record(fmt: str, exported: Path) -> None:
    path = exported / FORMATS[fmt].default_name
    if fmt == "graphml":
        network = nx.read_graphml(path, force_multigraph=True)
    else:
        network = nx.node_link_graph(json.loads(path.read_text("utf-8")), edges="edges")
    entities, records = shipped_counts()
    assert network.is_directed() and network.is_multigraph()
    assert network.number_of_nodes() == len(entities)
    assert network.number_of_edges() == len(records)
    assert {curie(e) for e in entities} == set(network.nodes)
    assert {curie(r) for r in records} == {key for _s, _o, key in network.edges(keys=True)}
    for _node, data in network.nodes(data=True):
        assert data["label"] and data["type"].startswith("ckg:") and data["iri"].startswith(CKGID)
    for _s, _o, data in network.edges(data=True):
        assert data["relation"].startswith("ckg:") and data["quote"] and data["source_document"].startswith("ckgsrc:")
        assert data["negated"] in (True, False)


# 4. KGX


@cache
def biolink_schema() -> dict[str, Any]:
    text = (importlib_resources.files("biolink_model") / "schema" / "biolink_model.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def biolink_classes() -> set[str]:
    return {"biolink:" + name.title().replace(" ", "") for name in biolink_schema()["classes"]}


def biolink_predicates() -> set[str]:
    """Slots that descend from 'related to': the names that may be an edge's predicate."""
    slots = biolink_schema()["slots"]

    def is_predicate(name: str) -> bool:
        seen = set()
        while name and name not in seen:
            if name == "related to":
                return True
            seen.add(name)
            name = (slots.get(name) or {}).get("is_a")
        return False

    return {"biolink:" + name.replace(" ", "_") for name in slots if is_predicate(name)}


def read_tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    return rows


def test_kgx_columns_categories_predicates_and_knowledge_sources(exported: Path) -> None:
    nodes, edges = read_tsv(exported / "kgx" / "nodes.tsv"), read_tsv(exported / "kgx" / "edges.tsv")
    node_columns = {"id", "category", "name", "description", "synonym", "xref", "iri", "provided_by"}
    assert node_columns <= set(nodes[0])
    assert {"id", "subject", "predicate", "object", "knowledge_level", "agent_type", "primary_knowledge_source",
            "publications", "supporting_text", "negated", "assertion_records", "hedge", "duration", "timing",
            "frequency", "population", "context", "urgency"} <= set(edges[0])  # fmt: skip
    classes, predicates = biolink_classes(), biolink_predicates()
    enums = biolink_schema()["enums"]
    entities, records = shipped_counts()
    assert {row["iri"] for row in nodes} == entities
    for row in nodes:
        assert row["category"] and set(row["category"].split("|")) <= classes, row
    ids = {row["id"] for row in nodes}
    quotes = {fold_whitespace(str(q)) for q in open_graph().memory_graph().objects(None, CKG.evidenceQuote)}
    for row in edges:
        assert row["predicate"] in predicates, row
        assert row["subject"] in ids and row["object"] in ids
        assert row["primary_knowledge_source"] == "infores:clinical-kg"
        assert row["knowledge_level"] in enums["KnowledgeLevelEnum"]["permissible_values"]
        assert row["agent_type"] in enums["AgentTypeEnum"]["permissible_values"]
        assert row["negated"] in ("True", "")  # kgx reads any non-empty cell as true
        if row["assertion_records"]:
            assert row["publications"].startswith("ckgsrc:") and set(row["supporting_text"].split("|")) <= quotes
            assert row["id"] == row["assertion_records"] or row["id"].startswith("urn:uuid:"), row
        else:
            assert row["predicate"] == "biolink:subclass_of" and row["original_predicate"] == "ckg:broader"
    graph = open_graph().memory_graph()
    denied = {curie(str(r)) for r in graph.subjects(CKG.negated, Literal(True))}
    assert {r for row in edges if row["negated"] for r in row["assertion_records"].split("|")} == denied & {
        curie(r) for r in records
    }
    assert all(not (set(row["assertion_records"].split("|")) & denied) for row in edges if not row["negated"])
    listed = [r for row in edges for r in row["assertion_records"].split("|") if r]
    assert sorted(listed) == sorted(curie(r) for r in records)  # every record on exactly one edge
    keys = [(row["subject"], row["predicate"], row["object"]) for row in edges]
    assert len(keys) == len(set(keys))  # kgx's edge key: no two edges share one, so kgx merges none
    assert [row["id"] for row in nodes] == sorted(row["id"] for row in nodes)


def test_kgx_node_ids_are_exact_matches_in_the_category_preferred_order(exported: Path) -> None:
    by_iri = {row["iri"]: row for row in read_tsv(exported / "kgx" / "nodes.tsv")}
    sciatica, fever, poor_posture = (by_iri[CKGID + name] for name in ("sciatica", "fever", "poor-posture"))
    # a disease: MONDO before MESH before HP (Biolink's id_prefixes for biolink:Disease)
    assert (sciatica["id"], sciatica["xref"]) == (
        "MONDO:0024333", "ckgid:sciatica|HP:0011868|ICD10:M54.3|ICD10CM:M54.30|MESH:D012585|SNOMEDCT:23056005"
    )  # fmt: skip
    assert (fever["category"], fever["id"]) == ("biolink:PhenotypicFeature", "HP:0001945")
    # MeSH D011187 is "Posture", a code of poor posture but not an exact match: the node keeps its own id
    assert (poor_posture["id"], poor_posture["xref"]) == ("ckgid:poor-posture", "MESH:D011187")
    edges = read_tsv(exported / "kgx" / "edges.tsv")
    assert {"MONDO:0024333", "HP:0001945"} <= {row["subject"] for row in edges} | {row["object"] for row in edges}


def test_kgx_merges_the_records_of_one_statement_into_one_edge_keeping_each(exported: Path) -> None:
    """Anxiety causes lower back spasms per two records, with two hedges and two quotes: one edge holds both."""
    edge = next(
        row
        for row in read_tsv(exported / "kgx" / "edges.tsv")
        if (row["subject"], row["predicate"], row["object"])
        == ("ckgid:anxiety", "biolink:causes", "ckgid:lower-back-muscle-spasm")
    )
    kg = open_graph()
    rows = kg.query(
        PREFIXES + "\nSELECT ?r ?q WHERE { ?r rdf:subject ckgid:anxiety ; rdf:predicate ckg:causes ; "
        "rdf:object ckgid:lower-back-muscle-spasm ; ckg:evidenceQuote ?q } ORDER BY ?r"
    ).rows
    assert len(rows) == 2
    assert edge["assertion_records"].split("|") == [curie(str(r)) for r, _ in rows]
    assert edge["supporting_text"].split("|") == [fold_whitespace(str(q)) for _, q in rows]
    assert edge["id"].startswith("urn:uuid:") and sorted(edge["hedge"].split("|")) == ["can", "sometimes"]


def test_kgx_metadata_declares_the_prefixes_and_reports_domain_range_advisories(exported: Path) -> None:
    metadata = json.loads((exported / "kgx" / "metadata.json").read_text(encoding="utf-8"))
    nodes, edges = read_tsv(exported / "kgx" / "nodes.tsv"), read_tsv(exported / "kgx" / "edges.tsv")
    assert metadata["curie_map"]["ckgid"] == CKGID and set(metadata["curie_map"]) == {"ckg", "ckga", "ckgid", "ckgsrc"}
    assert (metadata["total_node_count"], metadata["total_edge_count"]) == (len(nodes), len(edges))
    assert metadata["target_data_model_version"] == biolink_schema()["version"]
    advisories = {(a["predicate"], a["subject_category"], a["object_category"]): a
                  for a in metadata["domain_range_advisories"]}  # fmt: skip
    # Walking is a behaviour, not a biolink:ChemicalOrDrugOrTreatment: outside the domain of preventative_for_condition
    prevention = advisories["biolink:preventative_for_condition", "biolink:Behavior", "biolink:Disease"]
    assert prevention["expected_domain"] == "biolink:ChemicalOrDrugOrTreatment" and "expected_range" not in prevention
    categories = {row["id"]: row["category"] for row in nodes}
    flagged = {e for a in advisories.values() for e in a["edges"]}
    for row in edges:  # a drug treating a disease fits treats' domain and range
        if categories[row["subject"]] == "biolink:Drug" and row["predicate"] == "biolink:treats":
            assert row["id"] not in flagged


def test_biolink_snapshot_is_current() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_biolink_snapshot.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr


KGX_OFFLINE = Path(__file__).resolve().parent / "kgx_offline.py"


def run_kgx(*args: str, curie_map: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real kgx command line, offline (tests/kgx_offline.py)."""
    options = ["--curie-map", str(curie_map)] if curie_map else []
    command = [sys.executable, str(KGX_OFFLINE), *options, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def kgx_report(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON report ``kgx validate`` writes (to stderr, whatever ``-o`` says, in kgx 2.6)."""
    return json.loads(completed.stderr[completed.stderr.index("{") :])


def test_kgx_transform_keeps_every_edge_its_evidence_and_negation(dataset: Dataset, tmp_path: Path) -> None:
    """``kgx transform`` (merging edges, its default) reads the export back: every edge, record, quote, negation."""
    graph = Graph()
    for triple in union_graph(dataset):
        graph.add(triple)
    already = set(graph.subjects(CKG.negated, Literal(True)))
    negated = next(r for r in sorted(graph.subjects(RDF.type, CKG.Assertion)) if r not in already)
    graph.add((negated, CKG.negated, Literal(True)))  # a test copy: one more record denied
    export(graph, "kgx", tmp_path / "kgx")
    completed = run_kgx(
        "transform", "-i", "tsv", "-o", str(tmp_path / "out" / "kg"), "-f", "tsv",
        str(tmp_path / "kgx" / "nodes.tsv"), str(tmp_path / "kgx" / "edges.tsv"),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    before, after = (read_tsv(tmp_path / "kgx" / "edges.tsv"), read_tsv(tmp_path / "out" / "kg_edges.tsv"))
    assert len(after) == len(before)
    assert len(read_tsv(tmp_path / "out" / "kg_nodes.tsv")) == len(read_tsv(tmp_path / "kgx" / "nodes.tsv"))
    read_back = {row["id"]: row for row in after}
    for row in before:
        back = read_back[row["id"]]
        for column in ("subject", "predicate", "object", "assertion_records", "supporting_text", "publications"):
            assert set(back[column].split("|")) == set(row[column].split("|")), (column, row["id"])
        assert back["negated"] == row["negated"]
    denied_before = {row["id"] for row in before if row["negated"]}
    assert {row["id"] for row in after if row["negated"] == "True"} == denied_before
    assert any(row["assertion_records"] == curie(str(negated)) for row in after if row["negated"] == "True")


def test_kgx_validate_offline(exported: Path) -> None:
    """``kgx validate``: no error once the metadata's prefixes are declared; without them, only the ckgid: nodes."""
    files = [str(exported / "kgx" / "nodes.tsv"), str(exported / "kgx" / "edges.tsv")]
    declared = run_kgx("validate", "-i", "tsv", *files, curie_map=exported / "kgx" / "metadata.json")
    assert declared.returncode == 0 and kgx_report(declared) == {}, declared.stderr[-3000:]
    plain = run_kgx("validate", "-i", "tsv", *files)
    assert plain.returncode == 1
    report = kgx_report(plain)
    assert set(report) == {"ERROR"} and set(report["ERROR"]) == {"INVALID_NODE_PROPERTY_VALUE",
                                                               "INVALID_EDGE_PROPERTY_VALUE"}  # fmt: skip
    named = set()
    for by_message in report["ERROR"].values():
        for message in by_message:
            match = re.search(r"has a value '([^']+)' with a CURIE prefix 'ckgid'", message)
            assert match, message
            named.add(match.group(1))
    own_ids = {row["id"] for row in read_tsv(exported / "kgx" / "nodes.tsv") if row["id"].startswith("ckgid:")}
    assert named == own_ids  # the nodes with an exact match in a Biolink terminology pass


# 5. CSV


def test_csv_tables(exported: Path) -> None:
    with (exported / "csv" / "entities.csv").open(encoding="utf-8", newline="") as stream:
        entities = list(csv.DictReader(stream))
    with (exported / "csv" / "assertions.csv").open(encoding="utf-8", newline="") as stream:
        assertions = list(csv.DictReader(stream))
    expected_entities, entity_records = shipped_counts()
    assert {row["iri"] for row in entities} == expected_entities
    assert {"iri", "curie", "label", "type", "synonyms", "definition", "xrefs"} <= set(entities[0])
    assert {"assertion", "subject", "subject_label", "predicate", "object", "object_label", "negated", "hedge",
            "source", "quote"} <= set(assertions[0])  # fmt: skip
    all_records = {str(r) for r in open_graph().memory_graph().subjects(RDF.type, CKG.Assertion)}
    assert {row["assertion"] for row in assertions} == {curie(r) for r in all_records}
    assert all(row["quote"] and row["source"].startswith("ckgsrc:") for row in assertions)
    literal_objects = [row for row in assertions if curie(row["assertion"]) not in {curie(r) for r in entity_records}]
    assert all(row["object_label"] == "" for row in literal_objects)


# 6. Determinism


def test_two_exports_of_separately_loaded_graphs_are_byte_equal(tmp_path: Path) -> None:
    first, second = load_graph(), load_graph()  # parsed twice: different blank-node labels before canonicalisation
    for name, entry in FORMATS.items():
        a = export(first, name, tmp_path / "a" / entry.default_name)
        b = export(second, name, tmp_path / "b" / entry.default_name)
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b], name


def test_a_triple_in_two_graphs_is_one_statement_of_the_union(tmp_path: Path) -> None:
    import pyoxigraph as ox

    triple = (ox.NamedNode("https://w3id.org/clinical-kg/id/sciatica"), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
              ox.Literal("sciatica", language="en"))  # fmt: skip
    store = ox.Store()
    for graph in ("https://example.org/a", "https://example.org/b"):
        store.add(ox.Quad(*triple, ox.NamedNode(graph)))
    line = (
        b'<https://w3id.org/clinical-kg/id/sciatica> <http://www.w3.org/2004/02/skos/core#prefLabel> "sciatica"@en .\n'
    )
    assert export(store, "ntriples", tmp_path / "a.nt")[0].read_bytes() == line
    assert export(store, "nquads", tmp_path / "a.nq")[0].read_bytes().count(b"\n") == 2  # each graph keeps its own


@pytest.mark.parametrize("largest", [3, 100])  # the others' lines in a set, or looked up in the store
def test_the_union_of_three_graphs_writes_each_statement_once(tmp_path: Path, largest: int) -> None:
    import pyoxigraph as ox

    def ex(name: str) -> ox.NamedNode:
        return ox.NamedNode("http://example.org/" + name)

    store = ox.Store()
    for i in range(largest):
        store.add(ox.Quad(ex("a"), ex("p"), ox.Literal(str(i)), ex("large")))
    for graph in (ex("small1"), ex("small2")):  # in both smaller graphs, not in the largest
        store.add(ox.Quad(ex("b"), ex("p"), ex("c"), graph))
    store.add(ox.Quad(ex("a"), ex("p"), ox.Literal("1"), ex("small2")))  # in the largest too
    expected = sorted(f'<http://example.org/a> <http://example.org/p> "{i}" .\n'.encode() for i in range(largest))
    expected.append(b"<http://example.org/b> <http://example.org/p> <http://example.org/c> .\n")
    assert export(store, "ntriples", tmp_path / "a.nt")[0].read_bytes() == b"".join(expected)


def test_the_union_writes_each_statement_once_and_relabels_only_blank_nodes(tmp_path: Path) -> None:
    import pyoxigraph as ox

    def ex(name: str) -> ox.NamedNode:
        return ox.NamedNode("http://example.org/" + name)

    blank = ox.BlankNode()
    store = ox.Store()
    for graph in (ex("g1"), ex("g2")):  # a statement with a blank node in two graphs
        store.add(ox.Quad(ex("a"), ex("p"), blank, graph))
    store.add(ox.Quad(blank, ex("q"), ox.Literal("x _:y"), ex("g2")))
    for graph in (ox.DefaultGraph(), ex("g1")):  # in the default graph and a named one; "_:" in a literal
        store.add(ox.Quad(ex("a"), ex("r"), ox.Literal("_:not a blank"), graph))
    body = (
        b'<http://example.org/a> <http://example.org/p> _:c14n0 ;\n\t<http://example.org/r> "_:not a blank" .\n'
        b'_:c14n0 <http://example.org/q> "x _:y" .\n'
    )
    assert export(store, "ntriples", tmp_path / "a.nt")[0].read_bytes() == (
        b"<http://example.org/a> <http://example.org/p> _:c14n0 .\n"
        b'<http://example.org/a> <http://example.org/r> "_:not a blank" .\n'
        b'_:c14n0 <http://example.org/q> "x _:y" .\n'
    )
    turtle = export(store, "turtle", tmp_path / "a.ttl")[0].read_bytes()
    assert turtle.endswith(b" .\n" + body) and turtle.count(b"http://example.org/a") == 1
    assert export(store, "nquads", tmp_path / "a.nq")[0].read_bytes() == (
        b"<http://example.org/a> <http://example.org/p> _:c14n0 <http://example.org/g1> .\n"
        b"<http://example.org/a> <http://example.org/p> _:c14n0 <http://example.org/g2> .\n"
        b'<http://example.org/a> <http://example.org/r> "_:not a blank" .\n'
        b'<http://example.org/a> <http://example.org/r> "_:not a blank" <http://example.org/g1> .\n'
        b'_:c14n0 <http://example.org/q> "x _:y" <http://example.org/g2> .\n'
    )


def test_a_graph_named_by_a_blank_node_gets_a_canonical_label(tmp_path: Path) -> None:
    import pyoxigraph as ox

    written = []
    for name in ("a.nq", "b.nq"):  # two stores, each with its own blank node
        store = ox.Store()
        quad = ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/p"), ox.Literal("x _:y"))
        store.add(ox.Quad(quad.subject, quad.predicate, quad.object, ox.BlankNode()))
        written.append(export(store, "nquads", tmp_path / name)[0].read_bytes())
    assert written == [b'<http://example.org/a> <http://example.org/p> "x _:y" _:c14n0 .\n'] * 2


def test_a_broken_turtle_file_is_named_with_its_line_and_column(tmp_path: Path) -> None:
    from clinical_kg.export.rdf import load_dataset

    broken = tmp_path / "broken.ttl"
    broken.write_text(
        '@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e "unclosed .\n', encoding="utf-8"
    )
    with pytest.raises(InputError, match=re.escape(f"{broken}:3:11: ")):
        load_dataset([broken])


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "nquads", "rdfxml"])
def test_rdf_formats_are_the_same_bytes_from_oxigraph_and_from_rdflib(fmt: str, tmp_path: Path) -> None:
    from clinical_kg.export.rdf import load_dataset

    assert FORMATS[fmt].reads == "oxigraph"
    read_by_oxigraph = export(load_dataset(), fmt, tmp_path / "a")[0].read_bytes()
    read_by_rdflib = export(load_graph(), fmt, tmp_path / "b")[0].read_bytes()
    assert read_by_oxigraph == read_by_rdflib


def export_everything(folder: Path, seed: str) -> dict[str, bytes]:
    script = (
        "import sys\nfrom pathlib import Path\nfrom clinical_kg.export import FORMATS, export\n"
        "from clinical_kg.export.graph import load_graph\ngraph = load_graph()\nfor name, entry in FORMATS.items():\n"
        "    export(graph, name, Path(sys.argv[1]) / entry.default_name)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    completed = subprocess.run([sys.executable, "-c", script, str(folder)], env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_exports_are_byte_identical_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    first = export_everything(tmp_path / "one", "1")
    second = export_everything(tmp_path / "two", "4242")
    assert sorted(first) == sorted(second)
    assert len(first) == 12
    different = [name for name in first if first[name] != second[name]]
    assert not different


# 7. The command


def ckg(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_export_command_writes_the_default_name_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = ckg("export", "--format", "turtle")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("clinical-kg.ttl\t")
    assert (tmp_path / "clinical-kg.ttl").is_file()


def test_export_command_writes_a_folder_format_to_out(tmp_path: Path) -> None:
    result = ckg("export", "-f", "kgx", "--out", str(tmp_path / "build" / "kgx"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "build" / "kgx").iterdir()) == ["edges.tsv", "metadata.json", "nodes.tsv"]


def test_export_command_unknown_format_exits_2_listing_the_formats(tmp_path: Path) -> None:
    result = ckg("export", "--format", "owl", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    hint = "  hint: choose one of: " + ", ".join(ISSUE_FORMATS)
    assert result.stderr == f"error: unknown export format 'owl'\n{hint}\n"
    assert not (tmp_path / "x").exists()


def test_export_command_needs_a_format() -> None:
    result = ckg("export")
    assert result.exit_code == 2 and "--format" in result.stderr


# 8. Releases


@pytest.fixture(scope="module")
def data_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = Path(shutil.copytree(resources.data_dir(), tmp_path_factory.mktemp("release") / "data"))
    patch = pytest.MonkeyPatch()
    patch.setenv("CKG_DATA_DIR", str(folder))
    yield folder
    patch.undo()


@pytest.fixture(scope="module")
def first_release(data_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist-a")
    result = ckg("release", "--out", str(out), "--date", "2026-12-01")
    assert result.exit_code == 0, result.output + result.stderr
    return out / "clinical-kg-0.1.0"


def test_release_manifest_lists_every_file_with_its_checksum(first_release: Path) -> None:
    manifest = json.loads((first_release / "manifest.json").read_text(encoding="utf-8"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(first_release).as_posix() for p in first_release.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"manifest.json"}
    assert [entry["path"] for entry in manifest["files"]] == sorted(listed)
    for path, entry in listed.items():
        data = (first_release / path).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), path
    expected = {entry.default_name.rstrip("/") for entry in FORMATS.values()} | {"CHANGES.md", "context.jsonld"}
    assert {path.split("/")[0] for path in listed} == expected


def test_release_manifest_describes_the_release(first_release: Path) -> None:
    manifest = json.loads((first_release / "manifest.json").read_text(encoding="utf-8"))
    vocabulary = Graph().parse(resources.vocabulary_file())
    version_iri = str(next(vocabulary.objects(None, URIRef("http://www.w3.org/2002/07/owl#versionIRI"))))
    assert manifest["name"] == "clinical-kg" and manifest["version_iri"] == version_iri
    assert version_iri.rstrip("/").endswith("/" + manifest["version"]) and manifest["date"] == "2026-12-01"
    from clinical_kg.analysis import statistics

    stats = statistics(open_graph())
    for key in ("triples", "entities_by_class", "statements_by_relation", "assertions", "sources"):
        assert manifest["counts"][key] == stats[key], key
    graph = open_graph().memory_graph()
    sources = {str(s): str(graph.value(s, CKG.sha256)) for s in graph.subjects(RDF.type, CKG.SourceDocument)}
    assert {s["iri"]: s["sha256"] for s in manifest["sources"]} == sources
    assert set(manifest["validation"]) >= {"conforms", "violations", "warnings"}
    assert manifest["changes"]["previous"] is None
    kgx_metadata = json.loads((first_release / "kgx" / "metadata.json").read_text(encoding="utf-8"))
    advisories = kgx_metadata["domain_range_advisories"]
    assert manifest["kgx"] == {
        "biolink_model": biolink_schema()["version"],
        "edges_outside_domain_or_range": sum(len(a["edges"]) for a in advisories),
        "domain_range_advisories": advisories,
    }
    assert manifest["kgx"]["edges_outside_domain_or_range"] > 0
    assert "First release" in (first_release / "CHANGES.md").read_text(encoding="utf-8")


def test_release_refuses_to_overwrite_and_force_reproduces_it_byte_for_byte(first_release: Path) -> None:
    before = {p.relative_to(first_release).as_posix(): p.read_bytes() for p in first_release.rglob("*") if p.is_file()}
    result = ckg("release", "--out", str(first_release.parent))
    assert result.exit_code == 2 and "exists already" in result.stderr and "--force" in result.stderr
    epoch = "1796083200"  # 2026-12-01T00:00:00Z
    result = ckg("release", "--out", str(first_release.parent), "--force", env={"SOURCE_DATE_EPOCH": epoch})
    assert result.exit_code == 0, result.output + result.stderr
    after = {p.relative_to(first_release).as_posix(): p.read_bytes() for p in first_release.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in first_release.parent.iterdir()) == ["clinical-kg-0.1.0"]  # no temporary folder left


def test_release_lists_exactly_the_assertions_added_and_retracted(
    first_release: Path, data_copy: Path, tmp_path: Path
) -> None:
    from clinical_kg.curation import retract_assertion

    graph = open_graph().memory_graph()
    records = sorted(r for r in graph.subjects(RDF.type, CKG.Assertion))
    kept, retracted = records[0], records[-1]
    s, p, o = (graph.value(kept, t) for t in (RDF.subject, RDF.predicate, RDF.object))
    source, quote = graph.value(kept, CKG.source), "A second record of the same statement, for the release test."
    added = assertion_iri(s, p, o, source, quote, False)
    record = Graph()
    record.add((s, p, o))
    for prop, value in ((RDF.type, CKG.Assertion), (RDF.subject, s), (RDF.predicate, p), (RDF.object, o),
                        (CKG.source, source), (CKG.evidenceQuote, Literal(quote))):  # fmt: skip
        record.add((added, prop, value))
    record.serialize(data_copy / "release-test.ttl", format="turtle")
    retract_assertion(data_copy, retracted, "release test", curator="test")
    try:
        out = tmp_path / "dist-b"
        result = ckg("release", "--out", str(out), "--previous", str(first_release), "--date", "2026-12-02")
        assert result.exit_code == 0, result.output + result.stderr
        assert "1 added, 1 retracted, 0 changed" in result.output
        manifest = json.loads((out / "clinical-kg-0.1.0" / "manifest.json").read_text(encoding="utf-8"))
        changes = manifest["changes"]
        assert changes["previous"] == "0.1.0" and changes["previous_date"] == "2026-12-01"
        assert (changes["added"], changes["retracted"], changes["changed"]) == ([str(added)], [str(retracted)], [])
        assert changes["triples_added"] > 0 and changes["triples_removed"] > 0
        text = (out / "clinical-kg-0.1.0" / "CHANGES.md").read_text(encoding="utf-8")
        assert "## Added (1)" in text and curie(str(added)) in text and quote in text
        assert "## Retracted (1)" in text and curie(str(retracted)) in text and "release test" in text

        # Without --previous, the newest other release folder in --out is the previous one.
        dist = tmp_path / "dist-c"
        older = Path(shutil.copytree(first_release, dist / "clinical-kg-0.0.9"))
        newer = Path(shutil.copytree(out / "clinical-kg-0.1.0", dist / "clinical-kg-0.1.0"))
        assert find_previous(dist, exclude=dist / "clinical-kg-0.2.0") == newer
        assert find_previous(dist, exclude=newer) == older
    finally:
        (data_copy / "release-test.ttl").unlink()


def test_release_date_must_be_a_date(tmp_path: Path) -> None:
    result = ckg("release", "--out", str(tmp_path), "--date", "1 December")
    assert result.exit_code == 2 and "is not a date" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_shipped_data_is_untouched_by_the_release_tests() -> None:
    assert not (ROOT / "data" / "release-test.ttl").exists()
    assert not (ROOT / "data" / "retractions.ttl").read_text(encoding="utf-8").count("release test")
