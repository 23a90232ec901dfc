"""The strict candidate reader: a gallery of bad files with their exact messages, size and fetch
guards, and a small fuzz asserting that only InputError ever escapes."""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

import pytest
from rdflib import SKOS, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from clinical_kg.errors import InputError
from clinical_kg.ingest import CandidateSyntaxError, read_candidate

CKGID = "https://w3id.org/clinical-kg/id/"

GALLERY = Path(__file__).parent / "candidates" / "input-errors"
CASES = sorted(p.name for p in GALLERY.iterdir() if p.suffix != ".expected")

VALID = """\
@prefix ckg: <https://w3id.org/clinical-kg/vocab/> .
@prefix ckgid: <https://w3id.org/clinical-kg/id/> .
@prefix ckgsrc: <https://w3id.org/clinical-kg/source/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ckgid:piriformis-syndrome a ckg:Condition ;
    skos:prefLabel "piriformis syndrome"@en ;
    skos:altLabel "wallet sciatica"@en ;
    ckg:hasSymptom ckgid:buttock-pain .

[] a ckg:Assertion ;
    rdf:subject ckgid:piriformis-syndrome ;
    rdf:predicate ckg:hasSymptom ;
    rdf:object ckgid:buttock-pain ;
    ckg:source ckgsrc:how-to-help-muscle-spasms-in-lower-back ;
    ckg:evidenceQuote "Piriformis syndrome can cause pain in the buttock." ;
    ckg:hedge "can" ;
    ckg:negated false ;
    ckg:priority "2"^^xsd:integer .
"""


def outcome(name: str) -> str:
    """What reading a gallery file gives: ``OK <triples>`` or the exact text of the error."""
    try:
        return f"OK {len(read_candidate(Path(name)))}"
    except InputError as error:
        return str(error)


def test_gallery_is_complete() -> None:
    expected = sorted(p.name.removesuffix(".expected") for p in GALLERY.glob("*.expected"))
    assert expected == CASES
    assert len(CASES) >= 18


@pytest.mark.parametrize("name", CASES)
def test_gallery(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GALLERY)  # messages name the file as given: here, its bare name
    expected = (GALLERY / f"{name}.expected").read_text(encoding="utf-8").rstrip("\n")
    assert outcome(name) == expected


def test_binary_garbage_is_a_fixed_sequence() -> None:
    """How the gallery's binary file was made: 512 seeded pseudo-random bytes with two NULs inserted."""
    rng = random.Random(20240131)
    garbage = bytes(rng.randrange(256) for _ in range(512))
    assert (GALLERY / "binary-garbage.ttl").read_bytes() == garbage[:100] + b"\x00\x00" + garbage[100:]


def test_error_carries_its_position(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GALLERY)
    with pytest.raises(CandidateSyntaxError) as caught:
        read_candidate(Path("undeclared-prefix.ttl"))
    error = caught.value
    assert (error.file, error.line, error.column, error.token) == ("undeclared-prefix.ttl", 7, 5, "schema:name")
    assert error.hint and "@prefix schema:" in error.hint and "`ckg prefixes`" in error.hint


def test_the_projects_prefixes_are_predeclared(tmp_path: Path) -> None:
    # issue 12: the README's candidates have no @prefix lines; copying them failed, one missing prefix per run
    path = tmp_path / "candidate.ttl"
    path.write_text(
        'ckgid:back-spasm a ckg:Condition ; skos:prefLabel "back spasm"@en .\n'
        "ckgid:sedentary-lifestyle ckg:hasSymtom ckgid:muscle-weakness .\n",
        encoding="utf-8",
    )
    graph = read_candidate(path)
    assert len(graph) == 3
    assert (URIRef(CKGID + "back-spasm"), SKOS.prefLabel, Literal("back spasm", lang="en")) in graph
    path.write_text("ckgid:x a ckg:Condition ;\n  skos:prefLabel 'x'@en ;\n  nope .\n", encoding="utf-8")
    with pytest.raises(CandidateSyntaxError) as caught:
        read_candidate(path)
    assert caught.value.line == 3  # positions are those of the file, not of the predeclared prefixes


def test_valid_candidate_matches_rdflib(tmp_path: Path) -> None:
    path = tmp_path / "candidate.ttl"
    path.write_text(VALID, encoding="utf-8")
    assert isomorphic(read_candidate(path), Graph().parse(data=VALID, format="turtle"))


def test_billion_laughs_refused_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GALLERY)
    start = time.perf_counter()
    with pytest.raises(InputError, match="not accepted"):
        read_candidate(Path("billion-laughs.rdf"))
    assert time.perf_counter() - start < 0.5


def test_large_file_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open("big.ttl", "wb") as handle:
        handle.truncate(50_000_000)  # sparse: 50 MB by stat, nothing written
    start = time.perf_counter()
    with pytest.raises(InputError) as caught:
        read_candidate(Path("big.ttl"))
    assert time.perf_counter() - start < 0.5
    assert str(caught.value) == (
        "big.ttl: the file is 50.0 MB (50,000,000 bytes), over the limit of 10.0 MB (10,000,000 bytes)"
        " for a candidate file\n  hint: split it into smaller candidate files"
    )


def test_size_limit_is_a_parameter(tmp_path: Path) -> None:
    path = tmp_path / "candidate.ttl"
    path.write_text(VALID, encoding="utf-8")
    with pytest.raises(InputError, match=r"over the limit of 0\.0 MB \(100 bytes\)"):
        read_candidate(path, max_bytes=100)
    assert len(read_candidate(path, max_bytes=len(VALID)))


def test_missing_file_and_special_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_candidate(tmp_path / "missing.ttl")
    (tmp_path / "folder.ttl").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        read_candidate(tmp_path / "folder.ttl")


class Audit:
    """Records network and /etc/hostname events while ``active``; installed once, as hooks cannot be removed."""

    installed = False
    active = False
    events: list[tuple[str, tuple]] = []  # noqa: RUF012

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        fetch = event.startswith(("socket.", "urllib.")) or (event == "open" and "hostname" in str(args[0]))
        if cls.active and fetch:
            cls.events.append((event, args))


@pytest.mark.parametrize(
    "name", ["remote-context.jsonld", "file-context.jsonld", "scoped-context.jsonld", "import-context.jsonld"]
)
def test_contexts_are_never_fetched(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Audit.installed:
        sys.addaudithook(Audit.hook)
        Audit.installed = True
    monkeypatch.chdir(GALLERY)
    Audit.events.clear()
    Audit.active = True
    try:
        with pytest.raises(CandidateSyntaxError, match="remote or file contexts are not allowed"):
            read_candidate(Path(name))
    finally:
        Audit.active = False
    assert Audit.events == []


def mutants(text: str, count: int, seed: int = 20240131) -> list[bytes]:
    """``count`` copies of ``text`` with 1 to 4 random byte deletions, insertions or replacements."""
    rng = random.Random(seed)
    syntax = b"<>\"'.;,[]()@:^#\\_ \n\x00\xe9-"
    result = []
    for _ in range(count):
        data = bytearray(text.encode())
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(data))
            byte = rng.choice(syntax) if rng.random() < 0.7 else rng.randrange(256)
            operation = rng.choice(("delete", "insert", "replace"))
            if operation == "delete":
                del data[where]
            elif operation == "insert":
                data.insert(where, byte)
            else:
                data[where] = byte
        result.append(bytes(data))
    return result


def test_fuzz_only_input_errors_escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    located = re.compile(r"^m\.ttl:\d+:\d+: ")
    counts = {"graph": 0, "error": 0}
    for data in mutants(VALID, 300):
        Path("m.ttl").write_bytes(data)
        try:
            result = read_candidate(Path("m.ttl"))
        except CandidateSyntaxError as error:
            assert located.match(str(error)) or error.line is None, str(error)
            counts["error"] += 1
        except InputError as error:
            assert str(error).startswith("m.ttl: "), str(error)
            assert "cannot read this candidate file" not in str(error), str(error)  # no unexpected failure
            counts["error"] += 1
        else:
            assert isinstance(result, Graph)
            counts["graph"] += 1
    assert counts["graph"] > 0
    assert counts["error"] > 0
