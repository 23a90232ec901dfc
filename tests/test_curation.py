"""The curator workflow: ``ckg validate FILE`` (a gallery of semantic mistakes with the exact findings each
must produce), ``ckg add`` (routing, canonical form, changelog, idempotence, SIGKILL at random moments, four
concurrent curators) and ``ckg retract``.

Every test that adds or retracts works on a copy of ``data/`` in tmp_path; a module fixture checks that the
shipped data folder is left byte for byte as it was.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import RDF, SH, SKOS, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from clinical_kg import resources
from clinical_kg.canonical import assertion_iri, mint_assertion_iris
from clinical_kg.cli import main
from clinical_kg.curation import CHANGELOG, load_data, load_data_graph
from clinical_kg.curation.checks import parse_data_file
from clinical_kg.ingest import read_candidate
from clinical_kg.namespaces import prefix_map
from clinical_kg.results import compact
from clinical_kg.transaction import JOURNAL_NAME, TEMP_PREFIX, recover
from clinical_kg.validation import validate_graph
from clinical_kg.vocab import CKG
from tests.conftest import ROOT, SOURCE_TEXT, SOURCES
from tests.curation_worker import validate_file

DATA = ROOT / "data"
CANDIDATES = Path(__file__).parent / "candidates"
SEMANTIC = CANDIDATES / "semantic"
GOOD = CANDIDATES / "good"
GALLERY = sorted(p.name for p in SEMANTIC.glob("*.ttl"))
GOOD_FILES = sorted(GOOD.glob("*.ttl"))
MAIN_GOOD = GOOD / "debilitating-back-pain.ttl"  # the candidate of the add, kill and query tests
PYTHON_RULES = {
    "vocabulary",
    "unknown-entity",
    "duplicate-entity",
    "contradiction",
    "quote-not-in-source",
    "source-checksum",
}
SOURCE = URIRef(prefix_map()["ckgsrc"] + "how-to-help-muscle-spasms-in-lower-back")
ADD_KEYS = {"when", "who", "action", "file", "sources", "triples", "entities", "assertions", "files"}
RETRACT_KEYS = {"when", "who", "action", "assertion", "reason", "plain_triple_removed"}
XSD_DATETIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")
JSON_FINDING_KEYS = {"severity", "focus", "focusLabel", "rule", "message", "path", "value", "suggestion"}


def iri(curie: str) -> URIRef:
    prefix, _, local = curie.partition(":")
    return URIRef(prefix_map()[prefix] + local)


def ckg(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def add_command(candidate: Path, folder: Path, *options: str) -> list[str]:
    """The real ``ckg add`` command line, for subprocesses."""
    return [sys.executable, "-m", "clinical_kg.cli", "add", str(candidate), "--data-dir", str(folder), *options]


def expectations(path: Path) -> tuple[set[tuple[str, str]], list[str]]:
    """The ``# expect: RULE FOCUS`` pairs and ``# message: TEXT`` lines of a gallery file."""
    expected, messages = set(), []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect: "):
            rule, focus = line.removeprefix("# expect: ").split()
            expected.add((rule, focus))
        elif line.startswith("# message: "):
            messages.append(line.removeprefix("# message: "))
    return expected, messages


def snapshot(folder: Path) -> dict[str, bytes]:
    """The data files of a folder (not the lock, temp or journal files), the changelog's times masked."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".ckg"):
            continue
        data = path.read_bytes()
        if path.name == CHANGELOG:
            data = re.sub(rb'"when": "[^"]*"', b'"when": "..."', data)
        files[path.name] = data
    return files


def every_byte(folder: Path) -> dict[str, bytes]:
    """Every file of a folder, dot files included, byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    """Temp and journal files a transaction left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((TEMP_PREFIX, JOURNAL_NAME)))


def graph_of(folder: Path) -> Graph:
    graph = Graph()
    for g in load_data(folder).values():
        graph += g
    return graph


def shacl_violations(folder: Path) -> list[str]:
    """The SHACL violations of the vocabulary and the data folder together (warnings do not count)."""
    report = validate_graph(Graph().parse(resources.vocabulary_file(), format="turtle") + graph_of(folder))
    return [f"{compact(p.shape)} {compact(p.focus)}" for p in report.problems if p.severity_name == "Violation"]


def _entries(folder: Path) -> list[dict]:
    path = folder / CHANGELOG
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def changelog(folder: Path) -> list[dict]:
    """The changelog lines written since ``folder`` was copied from data/; the shipped lines must be
    there unchanged before them (a merge appends, it never rewrites the history)."""
    entries, shipped = _entries(folder), _entries(DATA)
    assert entries[: len(shipped)] == shipped
    return entries[len(shipped) :]


def minted(path: Path) -> Graph:
    """A candidate's triples as they are merged: blank-node records given their ckga: IRIs."""
    graph = read_candidate(path)
    mint_assertion_iris(graph)
    return graph


@pytest.fixture(scope="module", autouse=True)
def shipped_data_untouched() -> Iterator[None]:
    before = every_byte(DATA)
    yield
    assert every_byte(DATA) == before, "a test changed the shipped data folder"


@pytest.fixture(scope="module")
def reports() -> dict[str, tuple[list[tuple[str, str, str]], str, bool]]:
    """Every gallery and good candidate validated by the library against the shipped data and the source
    text: (severity, rule, focus) findings, text report, verdict. Two worker processes halve the wait."""
    paths = [SEMANTIC / name for name in GALLERY] + GOOD_FILES
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {path.name: pool.submit(validate_file, str(path), str(SOURCE_TEXT)) for path in paths}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DATA, tmp_path / "data"))


# 1. The semantic gallery: `ckg validate FILE`
#
# Each tests/candidates/semantic/*.ttl file lists in its header the exact set of violations it must produce,
# one `# expect: RULE FOCUS` line each (RULE a shape CURIE or the name of a candidate check; FOCUS a CURIE,
# or `_:` for a blank node: a record that cannot be given its ckga: IRI because a part is missing), and one
# `# message: TEXT` that the text report must contain. Records whose focus matters have explicit ckga: IRIs.


def test_gallery_is_well_formed() -> None:
    assert len(GALLERY) >= 16
    for name in GALLERY:
        expected, messages = expectations(SEMANTIC / name)
        assert expected, f"{name} has no '# expect:' line"
        assert len(messages) == 1, f"{name} needs exactly one '# message:' line"
        for rule, focus in expected:
            assert rule in PYTHON_RULES or rule.startswith("ckgsh:"), f"{name}: unknown rule {rule}"
            assert focus == "_:" or ":" in focus, f"{name}: focus {focus} is not a CURIE"


@pytest.mark.parametrize("name", GALLERY)
def test_semantic_gallery(name: str, reports: dict) -> None:
    expected, messages = expectations(SEMANTIC / name)
    findings, text, conforms = reports[name]
    assert {(rule, focus) for severity, rule, focus in findings if severity == "Violation"} == expected, text
    assert not conforms
    for message in messages:
        assert message in text
    assert text.splitlines()[-1].startswith(f"{name}: does not conform (")


def test_gallery_through_the_command() -> None:
    path = SEMANTIC / "fake-quote.ttl"
    result = ckg("validate", path, "--sources-dir", SOURCES)
    assert result.exit_code == 1, result.output
    (message,) = expectations(path)[1]
    assert message in result.stdout
    assert f"{path}: does not conform (1 violation)" in result.stdout


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda p: p.name)
def test_good_candidates_have_no_finding(path: Path, reports: dict) -> None:
    assert reports[path.name] == ([], f"{path.name}: conforms, nothing to fix.\n", True)


def test_good_candidate_conforms_through_the_command_even_strictly() -> None:
    result = ckg("validate", MAIN_GOOD, "--sources-dir", SOURCES, "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{MAIN_GOOD}: conforms, nothing to fix.\n"


WARNING_ONLY = """\
@prefix ckg: <https://w3id.org/clinical-kg/vocab/> .
@prefix ckgid: <https://w3id.org/clinical-kg/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

ckgid:piriformis-syndrome a ckg:Condition ;
    skos:prefLabel "piriformis syndrome"@en .
"""


def test_warnings_alone_exit_0_and_1_when_strict(tmp_path: Path) -> None:
    path = tmp_path / "no-definition.ttl"
    path.write_text(WARNING_ONLY, encoding="utf-8")
    result = ckg("validate", path, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["conforms"] is True
    (finding,) = report["files"][0]["findings"]
    assert (finding["severity"], finding["rule"]) == ("Warning", "ckgsh:ClinicalEntity-definition")
    strict = ckg("validate", path, "--strict")
    assert strict.exit_code == 1, strict.output
    assert "Warning: A clinical entity should have a skos:definition" in strict.stdout


def test_unreadable_candidate_exits_2_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.ttl"
    path.write_text('@prefix ckgid: <https://w3id.org/clinical-kg/id/> .\n\nckgid:sciatica ckgid:x "open\n')
    result = ckg("validate", path)
    assert result.exit_code == 2
    assert result.stderr.startswith("checking data/ in ")  # the data folder checked against, then the error
    assert re.match(rf"error: {re.escape(str(path))}:3:\d+: ", result.stderr.split("\n", 1)[1]), result.stderr
    assert "Traceback" not in result.output


def test_curated_files_are_read_as_rdflib_reads_them() -> None:
    """The candidate checks read the data with Oxigraph's parser: the same triples as rdflib's, file by file."""
    files = sorted(DATA.glob("*.ttl"))
    assert len(files) >= 10
    for path in files:
        ours, theirs = parse_data_file(path), Graph().parse(path, format="turtle")
        assert len(ours) == len(theirs) > 0 and isomorphic(ours, theirs), path.name
    union = load_data_graph(DATA)
    assert len(union) == sum(len(graph) for graph in load_data(DATA).values())


def test_a_broken_data_file_is_named_with_its_position(tmp_path: Path) -> None:
    data = Path(shutil.copytree(DATA, tmp_path / "data"))
    lines = (data / "symptoms.ttl").read_text(encoding="utf-8").count("\n")
    with (data / "symptoms.ttl").open("a", encoding="utf-8") as handle:
        handle.write("\nckgid:broken ckg:oops .\n")
    result = ckg("validate", MAIN_GOOD, "--data-dir", data, "--sources-dir", SOURCES)
    assert result.exit_code == 2, result.output
    error = f"error: {data / 'symptoms.ttl'}:{lines + 2}:23: the curated data file does not parse: "
    assert error in result.stderr and "Traceback" not in result.output, result.stderr


def test_json_report_has_the_documented_keys() -> None:
    path = SEMANTIC / "class-typo.ttl"
    result = ckg("validate", path, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"conforms", "files"} and report["conforms"] is False
    (entry,) = report["files"]
    assert set(entry) == {"file", "conforms", "findings"}
    assert (entry["file"], entry["conforms"]) == (str(path), False)
    (finding,) = entry["findings"]
    assert set(finding) == JSON_FINDING_KEYS
    assert finding == {
        "severity": "Violation",
        "focus": str(iri("ckgid:piriformis-syndrome")),
        "focusLabel": "piriformis syndrome",
        "rule": "vocabulary",
        "message": "ckg:Conditon is not a class of the clinical-kg vocabulary",
        "path": str(RDF.type),
        "value": str(iri("ckg:Conditon")),
        "suggestion": "did you mean ckg:Condition?",
    }


def test_turtle_report_is_a_shacl_validation_report() -> None:
    result = ckg("validate", SEMANTIC / "preflabel-without-language.ttl", "--format", "turtle")
    assert result.exit_code == 1
    report = Graph().parse(data=result.stdout, format="turtle")
    (node,) = report.subjects(RDF.type, SH.ValidationReport)
    assert report.value(node, SH.conforms) == Literal(False)
    shapes = {(report.value(r, SH.sourceShape), report.value(r, SH.focusNode)) for r in report.objects(node, SH.result)}
    assert (iri("ckgsh:ClinicalEntity-prefLabel"), iri("ckgid:piriformis-syndrome")) in shapes


# 2. `ckg add`


def test_dry_run_changes_nothing(copy: Path) -> None:
    before = every_byte(copy)
    result = ckg("add", MAIN_GOOD, "--dry-run", "--data-dir", copy, "--sources-dir", SOURCES)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Would add 11 triples: 1 ")
    assert "  data/assertions-presentation.ttl: +8 triples\n" in result.stdout
    assert "  data/symptoms.ttl: +3 triples\n" in result.stdout
    assert every_byte(copy) == before  # not even a lock file appears


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A data copy with MAIN_GOOD added by `ckg add`, and the command's result."""
    folder = Path(shutil.copytree(DATA, tmp_path_factory.mktemp("added") / "data"))
    args = ("add", MAIN_GOOD, "--data-dir", folder, "--sources-dir", SOURCES, "--curator", "test curator")
    return folder, ckg(*args)


def test_add_writes_the_new_triples_into_their_topic_files(added: tuple[Path, Result]) -> None:
    folder, result = added
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Added 11 triples: 1 ")
    changed = {n for n, data in snapshot(folder).items() if not (DATA / n).exists() or (DATA / n).read_bytes() != data}
    assert changed == {"symptoms.ttl", "assertions-presentation.ttl", CHANGELOG}
    symptom, condition = iri("ckgid:debilitating-back-pain"), iri("ckgid:lower-back-muscle-spasm")
    quote = "Muscle spasms in the lower back can be very painful and debilitating."
    record = assertion_iri(condition, CKG.hasSymptom, symptom, SOURCE, quote, False)
    expected = {
        "symptoms.ttl": {
            (symptom, RDF.type, CKG.Symptom),
            (symptom, SKOS.prefLabel, Literal("debilitating back pain", lang="en")),
            (
                symptom,
                SKOS.definition,
                Literal("Back pain severe enough to keep a person from their usual activities.", lang="en"),
            ),
        },
        "assertions-presentation.ttl": {
            (condition, CKG.hasSymptom, symptom),
            (record, RDF.type, CKG.Assertion),
            (record, RDF.subject, condition),
            (record, RDF.predicate, CKG.hasSymptom),
            (record, RDF.object, symptom),
            (record, CKG.source, SOURCE),
            (record, CKG.evidenceQuote, Literal(quote)),
            (record, CKG.hedge, Literal("can")),
        },
    }
    for name, triples in expected.items():
        new = Graph().parse(folder / name, format="turtle") - Graph().parse(DATA / name, format="turtle")
        assert set(new) == triples, name
        assert not set(Graph().parse(DATA / name, format="turtle") - Graph().parse(folder / name, format="turtle"))


def test_added_files_are_in_canonical_form(added: tuple[Path, Result]) -> None:
    folder, _ = added
    files = sorted(str(p) for p in folder.glob("*.ttl"))
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "format_data.py"), "--check", *files], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_add_appends_one_changelog_line(added: tuple[Path, Result]) -> None:
    folder, _ = added
    (entry,) = changelog(folder)
    assert set(entry) == ADD_KEYS
    when = datetime.fromisoformat(entry.pop("when"))
    assert timedelta(0) <= datetime.now(UTC) - when < timedelta(minutes=10)
    assert entry == {
        "who": "test curator",
        "action": "add",
        "file": MAIN_GOOD.name,
        "sources": [str(SOURCE)],
        "triples": 11,
        "entities": 1,
        "assertions": 1,
        "files": ["assertions-presentation.ttl", "symptoms.ttl"],
    }


def test_data_with_the_addition_conforms(added: tuple[Path, Result]) -> None:
    folder, _ = added
    assert shacl_violations(folder) == []


def test_query_finds_the_addition(added: tuple[Path, Result]) -> None:
    folder, _ = added
    args = ("query", "symptoms-of-condition", "--param", "condition=lower back muscle spasm", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(ckg(*args, env={"CKG_DATA_DIR": str(folder)}).stdout)))
    new = [row for row in rows if row["symptom"] == str(iri("ckgid:debilitating-back-pain"))]
    assert [{k: row[k] for k in ("symptomLabel", "conditionLabel", "basis", "hedge", "relation1", "source1", "quote1")}
            for row in new] == [{
        "symptomLabel": "debilitating back pain", "conditionLabel": "lower back muscle spasm", "basis": "stated",
        "hedge": "can", "relation1": str(CKG.hasSymptom), "source1": str(SOURCE),
        "quote1": "Muscle spasms in the lower back can be very painful and debilitating.",
    }]  # fmt: skip
    shipped = ckg(*args, env={"CKG_DATA_DIR": str(DATA)}).stdout
    assert len(list(csv.DictReader(io.StringIO(shipped)))) == len(rows) - 1
    assert str(iri("ckgid:debilitating-back-pain")) not in shipped


def test_adding_the_same_file_again_adds_nothing(added: tuple[Path, Result]) -> None:
    folder, _ = added
    before = every_byte(folder)
    again = ckg("add", MAIN_GOOD, "--data-dir", folder, "--sources-dir", SOURCES, "--curator", "test curator")
    assert again.exit_code == 0, again.output
    assert again.stdout == "Nothing to add: every triple of the candidate is in the data already.\n"
    assert every_byte(folder) == before


def test_candidate_with_violations_writes_nothing(copy: Path) -> None:
    """Also the regression test of blank-node records: one without a quote used to pass and be merged."""
    before = every_byte(copy)
    result = ckg("add", SEMANTIC / "missing-quote.ttl", "--data-dir", copy)
    assert result.exit_code == 1, result.output
    assert expectations(SEMANTIC / "missing-quote.ttl")[1][0] in result.stderr
    assert "(ckgsh:Assertion-evidenceQuote)" in result.stderr
    assert "Nothing was added" in result.stderr
    assert every_byte(copy) == before


# 3. `ckg retract`


def records_by_statement(folder: Path) -> dict[tuple, list[URIRef]]:
    """The assertion records of a data folder by (subject, predicate, object), sorted."""
    graph = graph_of(folder)
    statements: dict[tuple, list[URIRef]] = {}
    for record in sorted(graph.subjects(RDF.type, CKG.Assertion), key=str):
        key = tuple(graph.value(record, p) for p in (RDF.subject, RDF.predicate, RDF.object))
        statements.setdefault(key, []).append(record)
    return statements


def retract(folder: Path, record: URIRef, reason: str = "misread the source") -> Result:
    return ckg("retract", compact(record), "--reason", reason, "--curator", "tester", "--data-dir", folder)


def test_retract_moves_records_and_removes_only_unsupported_triples(copy: Path) -> None:
    statements = records_by_statement(copy)
    sole, (record,) = next((k, v) for k, v in statements.items() if len(v) == 1)
    pair, (first, second) = next((k, v) for k, v in statements.items() if len(v) == 2)
    original = set(graph_of(copy).predicate_objects(record))
    start = datetime.now(UTC).replace(microsecond=0)

    # The only record of its statement: moved to retractions.ttl, and the plain triple goes.
    result = retract(copy, record)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Retracted {compact(record)} (was in assertions-")
    graph = graph_of(copy)
    assert (record, RDF.type, CKG.Assertion) not in graph
    assert sole not in graph
    kept = Graph().parse(copy / "retractions.ttl", format="turtle")
    when = kept.value(record, CKG.retractedAt)
    assert set(kept.predicate_objects(record)) == (original - {(RDF.type, CKG.Assertion)}) | {
        (RDF.type, CKG.RetractedAssertion),
        (CKG.retractionReason, Literal("misread the source")),
        (CKG.retractedAt, when),
        (CKG.retractedBy, Literal("tester")),
    }
    assert when.datatype == XSD_DATETIME and start <= when.toPython() <= datetime.now(UTC)
    (entry,) = changelog(copy)
    assert set(entry) == RETRACT_KEYS
    assert entry | {"when": None} == {
        "when": None,
        "who": "tester",
        "action": "retract",
        "assertion": str(record),
        "reason": "misread the source",
        "plain_triple_removed": True,
    }

    # One of two records of a statement: the plain triple stays until the second one goes too.
    assert retract(copy, first).exit_code == 0
    assert pair in graph_of(copy)
    assert retract(copy, second, "the second reading was wrong too").exit_code == 0
    graph = graph_of(copy)
    assert pair not in graph
    assert {r for r in (record, first, second) if (r, RDF.type, CKG.RetractedAssertion) in graph} == {
        record,
        first,
        second,
    }
    assert [e["plain_triple_removed"] for e in changelog(copy)] == [True, False, True]
    assert shacl_violations(copy) == []

    # A second retraction of the same record changes nothing.
    files = every_byte(copy)
    again = retract(copy, record)
    assert again.exit_code == 2
    assert again.stderr.startswith(f"error: {compact(record)} is already retracted")
    assert every_byte(copy) == files


@pytest.mark.parametrize(
    ("target", "reason", "message"),
    [
        ("ckga:0000000000000000", "wrong", "error: ckga:0000000000000000 is not an assertion record of the data"),
        ("ckgid:sciatica", "wrong", "error: ckgid:sciatica is not an assertion record of the data"),
        ("ckga:0000000000000000", "  ", "error: a retraction needs a reason"),
        ("ckga:0000000000000000", "", "error: a retraction needs a reason"),
    ],
)
def test_retract_refuses_unknown_records_and_empty_reasons(copy: Path, target: str, reason: str, message: str) -> None:
    before = every_byte(copy)
    result = ckg("retract", target, "--reason", reason, "--data-dir", copy)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert every_byte(copy) == before


# 4. SIGKILL at random moments of a real `ckg add`


def test_kill_add_leaves_the_data_before_or_after(tmp_path: Path) -> None:
    def command(folder: Path) -> list[str]:
        return add_command(MAIN_GOOD, folder, "--sources-dir", str(SOURCES), "--curator", "kill test")

    reference = Path(shutil.copytree(DATA, tmp_path / "reference"))
    before = snapshot(reference)
    start = time.monotonic()
    subprocess.run(command(reference), check=True, capture_output=True)
    duration = time.monotonic() - start
    after = snapshot(reference)
    assert after != before and set(after) == {*before, CHANGELOG}

    runs, rng = 12, random.Random(20241127)
    delays = [0.2 + (i + rng.random()) * (duration - 0.2) / runs for i in range(runs)]  # one per slice of the run
    rng.shuffle(delays)
    outcomes = {"before": 0, "after": 0}
    killed = rolled_forward = temps_removed = 0
    failures = []
    start = time.monotonic()
    for run, delay in enumerate(delays):
        folder = Path(shutil.copytree(DATA, tmp_path / f"run-{run}"))
        proc = subprocess.Popen(command(folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)  # a no-op if the command has finished
        killed += proc.wait(timeout=60) == -signal.SIGKILL
        report = recover(folder)
        rolled_forward += bool(report.rolled_forward)
        temps_removed += bool(report.removed_temps)
        state = snapshot(folder)
        outcome = "before" if state == before else "after" if state == after else None
        if outcome is None:
            mixed = sorted(n for n in {*state, *after} if state.get(n) not in (before.get(n), after.get(n)))
            failures.append(f"run {run} (kill at {delay:.2f} s): neither before nor after: {mixed}")
        else:
            outcomes[outcome] += 1
        if leftovers(folder):
            failures.append(f"run {run}: left {leftovers(folder)}")
    print(
        f"\nkill test: uninterrupted `ckg add` {duration:.2f} s; {runs} runs killed at 0.2-{duration:.2f} s "
        f"({killed} killed mid-run), outcomes: {outcomes['before']} before, {outcomes['after']} after "
        f"({rolled_forward} rolled forward by recover, {temps_removed} with temp files removed), "
        f"{len(failures)} failures, {time.monotonic() - start:.1f} s"
    )
    assert failures == []
    assert outcomes["before"] + outcomes["after"] == runs


# 5. Four curators at once


def test_concurrent_adds_all_land(copy: Path) -> None:
    assert len(GOOD_FILES) == 4
    start = time.monotonic()
    procs = [
        subprocess.Popen(
            add_command(path, copy, "--sources-dir", str(SOURCES), "--curator", f"curator {i}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, path in enumerate(GOOD_FILES)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    elapsed = time.monotonic() - start
    assert [proc.returncode for proc in procs] == [0] * 4, outputs
    assert all(out.startswith("Added ") for out, _ in outputs), outputs
    graph = graph_of(copy)
    for path in GOOD_FILES:
        missing = set(minted(path) - graph)
        assert not missing, f"{path.name}: {len(missing)} triples lost"
    entries = changelog(copy)
    assert len(entries) == 4
    assert sorted(e["file"] for e in entries) == [p.name for p in GOOD_FILES]
    assert {e["who"] for e in entries} == {f"curator {i}" for i in range(4)}
    assert leftovers(copy) == []
    violations = shacl_violations(copy)
    print(f"\nconcurrency test: 4 concurrent `ckg add`, all exit 0, 4 changelog lines, {elapsed:.1f} s")
    assert violations == []
