"""Worker for tests/test_curation.py: validates candidate files with the library, in a process pool.

``validate_file(path, source_text)`` checks one candidate against the shipped data (loaded once per
worker process) with :func:`clinical_kg.curation.validate_candidate` and returns what the tests compare:
the findings as ``(severity, rule, focus)`` (focus a CURIE, or ``_:`` for a blank node), the text report
and whether the candidate conforms.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import BNode, Graph

from clinical_kg.curation import format_candidate_report, load_data, validate_candidate
from clinical_kg.ingest import read_candidate
from clinical_kg.results import compact

DATA = Path(__file__).resolve().parent.parent / "data"
_data: Graph | None = None


def shipped_data() -> Graph:
    """Every data file of the checkout, in one graph (parsed once per process)."""
    global _data
    if _data is None:
        _data = Graph()
        for graph in load_data(DATA).values():
            _data += graph
    return _data


def focus_name(node: object) -> str:
    """A focus node as the gallery writes it: its CURIE, or ``_:`` for a blank node."""
    return "_:" if isinstance(node, BNode) else compact(node)


def validate_file(path: str, source_text: str) -> tuple[list[tuple[str, str, str]], str, bool]:
    """Validate one candidate file; its findings, text report and verdict."""
    report = validate_candidate(
        read_candidate(Path(path)), shipped_data(), file=Path(path).name, sources_dir=Path(source_text).parent
    )
    findings = [(f.severity, f.rule, focus_name(f.focus)) for f in report.findings]
    return findings, format_candidate_report(report), report.conforms
