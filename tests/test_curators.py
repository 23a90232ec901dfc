"""Issue 12, the curators' tools as a new user meets them: one regression test per defect.

Every test works on a copy of ``data/`` (``--data-dir``); the README's own examples are run by
tests/test_readme.py, the lookups by tests/test_terms.py, the tables by tests/test_results.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import RDF, Graph

from clinical_kg.cli import main
from clinical_kg.vocab import CKG
from tests.conftest import ROOT, SOURCES

DATA = ROOT / "data"
PREAMBLE = ""  # the project's prefixes are predeclared: candidates as the README prints them (defect 3)
RECORD = """[] a ckg:Assertion ; rdf:subject ckgid:{s} ; rdf:predicate ckg:{p} ; rdf:object ckgid:{o} ;
   ckg:evidenceQuote "{quote}" ; {hedge} ckg:source ckgsrc:how-to-help-muscle-spasms-in-lower-back .
ckgid:{s} ckg:{p} ckgid:{o} .
"""


def ckg(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def every_byte(folder: Path) -> dict[str, bytes]:
    """Every file of the folder but the lock that `ckg add` takes (git-ignored)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != ".ckg.lock"}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DATA, tmp_path / "data"))


def candidate(tmp_path: Path, s: str, p: str, o: str, quote: str, hedge: str | None = None) -> Path:
    path = tmp_path / "candidate.ttl"
    hedged = f'ckg:hedge "{hedge}" ;' if hedge else ""
    path.write_text(PREAMBLE + RECORD.format(s=s, p=p, o=o, quote=quote, hedge=hedged), encoding="utf-8")
    return path


def findings(result: Result) -> list[tuple[str, str]]:
    report = json.loads(result.stdout)
    return sorted((f["severity"], f["rule"]) for file in report["files"] for f in file["findings"])


FABRICATED = ("lower-back-muscle-spasm", "hasSymptom", "muscle-stiffness", "Back spasms always make you stiff.")


def test_1_a_fabricated_quote_is_a_violation_with_sources_dir(tmp_path: Path, data: Path) -> None:
    path = candidate(tmp_path, *FABRICATED)
    result = ckg("validate", path, "--sources-dir", SOURCES, "--data-dir", data, "--format", "json")
    assert result.exit_code == 1
    assert findings(result) == [("Violation", "quote-not-in-source")]


def test_1_quotes_are_never_skipped_silently(tmp_path: Path, data: Path) -> None:
    path = candidate(tmp_path, *FABRICATED)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = ckg("validate", path, "--sources-dir", empty, "--data-dir", data, "--format", "json")
    assert result.exit_code == 0  # a warning for validate, saying which source and where it looked
    (finding,) = json.loads(result.stdout)["files"][0]["findings"]
    assert (finding["severity"], finding["rule"]) == ("Warning", "source-text-not-found")
    assert finding["focus"] == "https://w3id.org/clinical-kg/source/how-to-help-muscle-spasms-in-lower-back"
    assert f"looked in {empty} (--sources-dir) for a file named" in finding["message"]
    before = every_byte(data)
    added = ckg("add", path, "--sources-dir", empty, "--data-dir", data)
    assert added.exit_code == 1 and "(source-text-not-found)" in added.stderr  # a violation for add
    assert every_byte(data) == before


def test_2_every_command_honours_data_dir_before_or_after_the_command(tmp_path: Path, data: Path) -> None:
    # defect 2: `ckg validate --data-dir data` ignored the flag and checked the installed copy
    conditions = data / "conditions.ttl"
    text = conditions.read_text(encoding="utf-8").replace('"sciatic nerve pain"@en', '"copied sciatica"@en')
    conditions.write_text(text.replace('skos:prefLabel "arthritis"@en ;', ""), encoding="utf-8")
    for args in (("validate", "--data-dir", data), ("--data-dir", data, "validate")):
        result = ckg(*args)
        assert result.exit_code == 1, result.output  # arthritis lost its label in the copy
        assert result.stderr.startswith(f"checking {data} (--data-dir)\n")
    assert ckg("validate").exit_code == 0  # the checkout's data/
    found = 'ckgid:sciatica\tsciatica\tcondition  (matched "copied sciatica", exact)\n'
    assert ckg("--data-dir", data, "--store", "memory", "lookup", "copied sciatica").stdout == found
    assert ckg("lookup", "copied sciatica", "--data-dir", data).stdout == found
    assert ckg("lookup", "copied sciatica").exit_code == 2


def test_2_read_only_commands_leave_the_data_folder_as_it_was(tmp_path: Path, data: Path) -> None:
    before = every_byte(data)
    path = candidate(tmp_path, *FABRICATED)
    for args in (("validate",), ("validate", path), ("lookup", "sciatica"), ("stats",), ("add", path, "--dry-run")):
        ckg(*args, "--data-dir", data)
    assert sorted(p.name for p in data.iterdir()) == sorted(before) and every_byte(data) == before


SPASM_QUOTE = "With lower back spasms, pain often radiates to other locations of the body, such as the legs or hips."


@pytest.mark.parametrize(
    ("subject", "obj", "quote", "hedge", "expected"),
    [
        # defect 4: a hedge that is not a word of its quote
        ("lower-back-muscle-spasm", "drowsiness", SPASM_QUOTE, "usually", [("Violation", "hedge-not-in-quote")]),
        # defect 4: any substring passed: "a" for lower-back-muscle-spasm hasSymptom drowsiness
        ("lower-back-muscle-spasm", "drowsiness", "a", None,
         [("Violation", "quote-too-short"), ("Warning", "quote-does-not-mention")]),
        # defect 4: verbatim, but cut inside a word
        ("lower-back-muscle-spasm", "drowsiness", SPASM_QUOTE[1:], "often",
         [("Violation", "quote-not-whole-words")]),
        # defect 4: verbatim and unrelated (the article's title)
        ("back-pain", "drowsiness", "How To Help Muscle Spasms In Lower Back", None,
         [("Warning", "quote-does-not-mention")]),
    ],
)  # fmt: skip
def test_4_quotes_and_hedges_must_be_evidence(
    tmp_path: Path, data: Path, subject: str, obj: str, quote: str, hedge: str | None, expected: list
) -> None:
    path = candidate(tmp_path, subject, "hasSymptom", obj, quote, hedge)
    result = ckg("validate", path, "--sources-dir", SOURCES, "--data-dir", data, "--format", "json")
    assert findings(result) == expected
    if any(severity == "Violation" for severity, _ in expected):
        before = every_byte(data)
        assert ckg("add", path, "--sources-dir", SOURCES, "--data-dir", data).exit_code == 1
        assert every_byte(data) == before


def test_4_a_statement_the_data_holds_the_other_way_round_is_warned(tmp_path: Path, data: Path) -> None:
    graph = Graph().parse(data / "assertions-causation.ttl")
    record = next(r for r in sorted(graph.subjects(RDF.predicate, CKG.causes)) if (r, CKG.hedge, None) not in graph)
    s, o = (str(graph.value(record, p)).rsplit("/", 1)[1] for p in (RDF.subject, RDF.object))
    quote = str(graph.value(record, CKG.evidenceQuote))
    result = ckg(
        "validate", candidate(tmp_path, o, "causes", s, quote), "--sources-dir", SOURCES, "--data-dir", data,
        "--format", "json",
    )  # fmt: skip
    assert ("Warning", "reverse-direction") in findings(result)
    message = next(f["message"] for f in json.loads(result.stdout)["files"][0]["findings"] if "reverse" in f["rule"])
    assert message.startswith(f"the data states the reverse: ckgid:{s} ckg:causes ckgid:{o} (ckga:")


def test_7_export_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = ckg("export", "--format", "ntriples", "--out", "-")
    assert result.exit_code == 0 and list(tmp_path.iterdir()) == []  # no file named "-"
    assert len(Graph().parse(data=result.stdout, format="nt")) > 1000
    folder = ckg("export", "--format", "kgx", "--out", "-")
    assert folder.exit_code == 2 and "cannot go to stdout" in folder.stderr


def test_7_the_store_option_is_accepted_before_the_command() -> None:
    # A catalogue query, not a lookup: on the memory store a lookup first indexes every label (about 2 s).
    before = ckg("--store", "memory", "query", "red-flags", "--format", "csv")
    after = ckg("query", "red-flags", "--format", "csv", "--store", "memory")
    assert before.exit_code == after.exit_code == 0, before.output
    assert before.stdout == after.stdout and len(before.stdout.splitlines()) > 10


def test_7_the_data_folders_lock_and_journal_are_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {".ckg.lock", ".ckg-journal.json", ".ckg-tmp-*"} <= set(ignored)
