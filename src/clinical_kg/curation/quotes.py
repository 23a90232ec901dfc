"""Candidate checks of evidence: every quote against the text of its source, never skipped.

The source texts come from one folder (:class:`clinical_kg.evidence.SourceTexts`). A source whose
text is not there is reported with where it was looked for: a warning for ``ckg validate``, a
violation for ``ckg add`` (unchecked quotes are not merged). The checks, each a rule of the
report:

- ``quote-not-in-source``: the quote is not a verbatim span of the text (white space folded);
- ``quote-not-whole-words``: it begins or ends inside a word of the text;
- ``quote-too-short``: fewer than :data:`clinical_kg.evidence.MIN_QUOTE_WORDS` words ("a" is no evidence);
- ``hedge-not-in-quote``: the record's hedge is not words of its quote;
- ``quote-does-not-mention`` (warning): the quote names neither the subject nor the object by
  any label or synonym (or, for a literal object, its text);
- ``source-checksum``: a new source's recorded SHA-256 is not that of its text.
"""

from __future__ import annotations

import difflib

from rdflib import RDF, SKOS, Graph, Literal
from rdflib.term import Node

from clinical_kg.canonical import fold_whitespace
from clinical_kg.curation.checks import Finding
from clinical_kg.evidence import (
    MIN_QUOTE_WORDS,
    SourceText,
    SourceTexts,
    hedge_in_quote,
    is_whole_words,
    mentioned,
    quote_span,
)
from clinical_kg.results import compact
from clinical_kg.terms import words
from clinical_kg.vocab import CKG


def _text(value: Node | None) -> str | None:
    return None if value is None else str(value)


def _source_findings(
    candidate: Graph, combined: Graph, sources: set[Node], texts: SourceTexts, missing: str
) -> tuple[dict[Node, SourceText], list[Finding]]:
    """The texts of the cited sources, and a finding for each source whose text is missing or
    whose recorded checksum (for a source the candidate declares) is wrong."""
    found: dict[Node, SourceText] = {}
    findings = []
    for source in sorted(sources, key=str):
        name, sha = _text(combined.value(source, CKG.fileName)), _text(combined.value(source, CKG.sha256))
        text = texts.find(name, sha)
        if text is None:
            findings.append(
                Finding(missing, source, "source-text-not-found",
                        f"the text of {compact(source)} was not found, so its quotes were not checked: "
                        f"{texts.where(name, sha)}",
                        suggestion="put the source text in that folder, or name the folder of source texts with "
                                   "--sources-dir DIR or CKG_SOURCES_DIR")
            )  # fmt: skip
            continue
        found[source] = text
        if (source, None, None) in candidate and sha is not None and sha != text.sha256:
            findings.append(
                Finding("Violation", source, "source-checksum",
                        f"the recorded SHA-256 does not match the source text {text.path.name}", CKG.sha256,
                        Literal(sha), f'the text\'s SHA-256 is "{text.sha256}"')
            )  # fmt: skip
    return found, findings


def _closest_passage(folded_text: str, quote: str) -> str | None:
    sentences = [s.strip() for s in folded_text.replace("•", ".").split(". ") if s.strip()]
    close = difflib.get_close_matches(fold_whitespace(quote), sentences, n=1, cutoff=0.5)
    return close[0] if close else None


def _whole_words_around(folded_text: str, start: int, end: int) -> str:
    """The span widened to whole words, for the suggestion."""
    while start > 0 and folded_text[start - 1].isalnum():
        start -= 1
    while end < len(folded_text) and folded_text[end].isalnum():
        end += 1
    return folded_text[start:end]


def _names(graph: Graph, term: Node | None) -> list[str]:
    if isinstance(term, Literal):
        return [str(term)]
    return sorted({str(o) for p in (SKOS.prefLabel, SKOS.altLabel) for o in graph.objects(term, p)})


def _text_findings(record: Node, quote: Literal, source: Node, text: SourceText) -> list[Finding]:
    span = quote_span(text.folded, str(quote))
    if span is None:
        close = _closest_passage(text.folded, str(quote))
        return [
            Finding("Violation", record, "quote-not-in-source",
                    f"the evidence quote does not occur in the text of {compact(source)}", CKG.evidenceQuote, quote,
                    f'the closest passage is "{close}"' if close else "copy the words verbatim from the source")
        ]  # fmt: skip
    if not is_whole_words(text.folded, *span):
        whole = _whole_words_around(text.folded, *span)
        return [
            Finding("Violation", record, "quote-not-whole-words",
                    "the evidence quote begins or ends inside a word of the source", CKG.evidenceQuote, quote,
                    f'quote whole words: "{whole}"')
        ]  # fmt: skip
    return []


def quote_findings(candidate: Graph, combined: Graph, texts: SourceTexts, missing: str = "Warning") -> list[Finding]:
    """The evidence findings of the candidate's assertion records (see the module docstring).

    ``combined`` holds the candidate and what the checks read of the data (the records'
    subjects and objects with their names, and the cited sources with their ``ckg:fileName``
    and ``ckg:sha256``); ``missing`` is the severity of a source whose text is not found.
    """
    records = sorted(candidate.subjects(RDF.type, CKG.Assertion), key=str)
    cited = {combined.value(r, CKG.source) for r in records} | set(candidate.subjects(RDF.type, CKG.SourceDocument))
    found, findings = _source_findings(candidate, combined, cited - {None}, texts, missing)
    for record in records:
        quote, source = combined.value(record, CKG.evidenceQuote), combined.value(record, CKG.source)
        if not isinstance(quote, Literal):
            continue  # a record without a quote is a SHACL violation
        hedge = combined.value(record, CKG.hedge)
        if hedge is not None and not hedge_in_quote(str(hedge), str(quote)):
            findings.append(
                Finding("Violation", record, "hedge-not-in-quote",
                        f'the hedge "{hedge}" is not a word of the evidence quote', CKG.hedge, hedge,
                        "take the hedge from the quote's own words (may, can, often, ...), or drop it if the quote "
                        "states the relation flatly")
            )  # fmt: skip
        count = len(words(str(quote)))
        if count < MIN_QUOTE_WORDS:
            findings.append(
                Finding("Violation", record, "quote-too-short",
                        f"the evidence quote has {count} word{'s' if count != 1 else ''}: it must be a span of the "
                        f"source that states the relation (at least a clause, {MIN_QUOTE_WORDS} words or more)",
                        CKG.evidenceQuote, quote, "quote the clause or sentence of the source that states it")
            )  # fmt: skip
        if source in found:
            findings += _text_findings(record, quote, source, found[source])
        subject, obj = combined.value(record, RDF.subject), combined.value(record, RDF.object)
        names = _names(combined, subject) + _names(combined, obj)
        if names and not mentioned(str(quote), names):
            looked_for = ", ".join(f'"{n}"' for n in names)
            findings.append(
                Finding("Warning", record, "quote-does-not-mention",
                        f"the evidence quote mentions neither {compact(subject)} nor {compact(obj)} by a label or "
                        f"synonym (looked for {looked_for})", CKG.evidenceQuote, quote,
                        "quote the passage that states this relation, or add the source's word for the entity as a "
                        "synonym (skos:altLabel)")
            )  # fmt: skip
    return findings
