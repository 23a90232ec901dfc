"""The Python API (``clinical_kg.open``): its results, its errors, and the examples the documents show.

``docs/python-api.md`` (a notebook in Markdown) and the README's "Python API" section are run cell by
cell, in order, in one namespace and in an empty folder: each ```python cell's printed output must be
exactly the ```text block that follows it (a cell with no such block prints nothing).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, URIRef

import clinical_kg
from clinical_kg.api import Result
from clinical_kg.catalogue import run_query
from clinical_kg.errors import InputError, UnknownTermError
from clinical_kg.results import to_csv
from clinical_kg.vocab import CKG
from tests.conftest import ROOT, shipped

CELL = re.compile(r"```python\n(.*?)```\n(?:\s*```text\n(.*?)```\n)?", re.S)


def cells(markdown: str) -> list[tuple[str, str]]:
    """The python cells of a Markdown text, each with the output written after it ('' if none)."""
    return [(code, output or "") for code, output in CELL.findall(markdown)]


def run_cells(markdown: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Run the cells in order in one namespace, in ``folder``: (code, expected output, printed output) each."""
    monkeypatch.chdir(folder)
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    ran = []
    for code, expected in cells(markdown):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "<cell>", "exec"), namespace)  # the documents' own examples
        ran.append((code, expected, printed.getvalue()))
    return ran


def section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    following = markdown.find("\n## ", start + len(heading))
    return markdown[start : following if following >= 0 else len(markdown)]


@pytest.mark.parametrize("document", ["docs/python-api.md", "README.md"])
def test_the_documented_examples_print_what_the_documents_say(
    document: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    if document == "README.md":
        text = section(text, "## Python API")
    ran = run_cells(text, tmp_path, monkeypatch)
    assert len(ran) >= (1 if document == "README.md" else 8)
    for code, expected, printed in ran:
        assert printed == expected, f"the cell\n{code}\nprinted\n{printed}"


def test_query_gives_the_rows_of_the_catalogue_with_plain_values() -> None:
    kg = clinical_kg.open()
    answer = kg.query("conditions-causing-symptom", symptom="radiating leg pain")
    expected = run_query(shipped("oxigraph"), "conditions-causing-symptom", {"symptom": ["radiating leg pain"]})
    assert isinstance(answer, Result) and to_csv(answer) == to_csv(expected)
    assert answer.title == "Conditions that cause a symptom" and len(answer) == len(expected.rows)
    first, terms = answer.to_records()[0], zip(answer.variables, answer.rows[0], strict=True)
    assert first == {v: (str(t) if t is not None else None) for v, t in terms}  # IRIs and plain strings
    assert answer.to_records(curies=True)[0]["relation"] == "ckg:hasSymptom"
    frame = answer.to_pandas()
    assert list(frame.columns) == answer.variables and len(frame) == len(answer.rows)


def test_a_parameter_with_several_values_takes_a_list() -> None:
    kg = clinical_kg.open()
    answer = kg.query("differential-diagnosis", symptoms=["numbness", "weakness"])
    expected = run_query(shipped("oxigraph"), "differential-diagnosis", {"symptoms": ["numbness", "weakness"]})
    assert answer.rows == expected.rows and answer.rows


def test_sparql_lookup_and_typed_literals() -> None:
    kg = clinical_kg.open(store="memory")
    count = kg.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?c a ckg:Condition }").to_records()
    assert count == [{"n": len(set(shipped("memory").graph.subjects(RDF.type, CKG.Condition)))}]
    assert kg.sparql("ASK { ckgid:sciatica a ckg:Condition }").boolean is True
    graph = kg.sparql("CONSTRUCT WHERE { ckgid:sciatica ?p ?o }")
    assert graph.graph is not None and len(graph) == len(graph.graph) > 5
    assert [m.iri for m in kg.lookup("HP:0011868")][:1] == [URIRef("https://w3id.org/clinical-kg/id/sciatica")]


def test_errors_are_the_packages_typed_errors_with_a_hint() -> None:
    kg = clinical_kg.open()
    with pytest.raises(UnknownTermError) as caught:
        kg.query("symptoms-of-condition", condition="sciaticaa")
    assert "sciatica" in str(caught.value)
    with pytest.raises(InputError, match="is not a folder"):
        clinical_kg.open(data_dir=ROOT / "nowhere")


def test_validate_a_candidate_against_a_data_folder(tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.ttl"
    candidate.write_text(
        "@prefix ckg: <https://w3id.org/clinical-kg/vocab/> .\n"
        "@prefix ckgid: <https://w3id.org/clinical-kg/id/> .\n"
        "ckgid:sedentary-lifestyle ckg:hasSymtom ckgid:muscle-weakness .\n",
        encoding="utf-8",
    )
    validation = clinical_kg.open(data_dir=ROOT / "data").validate(candidate)
    assert not validation.conforms
    rules = {(r["severity"], r["rule"], r["suggestion"]) for r in validation.to_records()}
    assert ("Violation", "vocabulary", "did you mean ckg:hasSymptom?") in rules
    assert "did you mean ckg:hasSymptom?" in validation.text
