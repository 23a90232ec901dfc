"""Curators' workflow: validate candidate triples against the graph, merge them, retract records.

A candidate is a small file of new entities and assertion records. :func:`validate_candidate`
checks it together with the curated data (so references to existing entities resolve) but
reports only the problems that the candidate introduces or touches: SHACL on the focus nodes it
adds or touches, and the mistakes curators actually make (a term not in the vocabulary, a
duplicate of an existing entity, a quote that is not in the source, a contradiction).
:func:`add_candidate` merges a conforming candidate into the data files under a lock, through
a crash-safe transaction (:mod:`clinical_kg.transaction`).

- :mod:`~clinical_kg.curation.checks`: the candidate checks and their findings;
- :mod:`~clinical_kg.curation.report`: the reports, for people and as JSON;
- :mod:`~clinical_kg.curation.merge`: add a candidate to the data files, retract a record.
"""

from clinical_kg.curation.checks import (
    CHECKED_IN_PYTHON,
    CandidateReport,
    Finding,
    load_data,
    load_data_graph,
    neighbourhood,
    touched_nodes,
    validate_candidate,
)
from clinical_kg.curation.merge import CHANGELOG, MergeResult, add_candidate, plan_merge, retract_assertion
from clinical_kg.curation.report import format_candidate_report, format_merge, report_json

__all__ = [
    "CHANGELOG",
    "CHECKED_IN_PYTHON",
    "CandidateReport",
    "Finding",
    "MergeResult",
    "add_candidate",
    "format_candidate_report",
    "format_merge",
    "load_data",
    "load_data_graph",
    "neighbourhood",
    "plan_merge",
    "report_json",
    "retract_assertion",
    "touched_nodes",
    "validate_candidate",
]
