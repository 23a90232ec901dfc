"""Candidate reports for people and for programs, and the summary of a merge."""

from __future__ import annotations

import json
from collections import defaultdict

from rdflib.term import Node

from clinical_kg.curation.checks import CandidateReport, Finding
from clinical_kg.curation.merge import MergeResult
from clinical_kg.results import compact
from clinical_kg.validation import severity_summary
from clinical_kg.vocab import CKG


def format_candidate_report(report: CandidateReport) -> str:
    """The readable report: findings grouped by entity, with labels."""
    if not report.findings:
        return f"{report.file}: conforms, nothing to fix.\n"
    grouped: dict[Node, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        grouped[finding.focus].append(finding)
    lines = []
    for focus, findings in grouped.items():
        label = report.labels.get(focus)
        lines.append(f"{report.file}: {compact(focus)}" + (f' "{label}"' if label else ""))
        for f in findings:
            where = f" [{compact(f.path)}" + (f" = {compact(f.value)}" if f.value is not None else "") + "]"
            lines.append(f"  {f.severity}: {f.message}{where if f.path is not None else ''} ({f.rule})")
            if f.suggestion:
                lines.append(f"    suggestion: {f.suggestion}")
    summary = severity_summary(f.severity for f in report.findings)
    lines.append(f"{report.file}: {'conforms' if report.conforms else 'does not conform'} ({summary})")
    return "\n".join(lines) + "\n"


def report_json(reports: list[CandidateReport]) -> str:
    """The machine-readable report (keys documented in docs/curation.md)."""

    def node(term: Node | None) -> str | None:
        return None if term is None else str(term)

    return (
        json.dumps(
            {
                "conforms": all(r.conforms for r in reports),
                "files": [
                    {
                        "file": r.file,
                        "conforms": r.conforms,
                        "findings": [
                            {
                                "severity": f.severity,
                                "focus": node(f.focus),
                                "focusLabel": r.labels.get(f.focus),
                                "rule": f.rule,
                                "message": f.message,
                                "path": node(f.path),
                                "value": node(f.value),
                                "suggestion": f.suggestion,
                            }
                            for f in r.findings
                        ],
                    }
                    for r in reports
                ],
            },
            indent=2,
        )
        + "\n"
    )


def format_merge(result: MergeResult) -> str:
    """What was (or would be) added, for people."""
    if not result.added:
        return "Nothing to add: every triple of the candidate is in the data already.\n"
    verb = "Would add" if result.dry_run else "Added"
    entities, records = result.entities(), result.count(CKG.Assertion)
    lines = [
        f"{verb} {result.triples} triples: {entities} {'entity' if entities == 1 else 'entities'}, "
        f"{records} assertion record{'' if records == 1 else 's'}."
    ]
    for name, graph in sorted(result.added.items()):
        lines.append(f"  data/{name}: +{len(graph)} triples")
        for subject in sorted(set(graph.subjects()), key=str):
            label = result.report.labels.get(subject)
            lines.append(f"    {compact(subject)}" + (f' "{label}"' if label else ""))
    return "\n".join(lines) + "\n"
