"""Term resolution: an exact name needs no full label index; everything else falls back to it."""

from __future__ import annotations

import pytest

from clinical_kg.errors import TermTypeError, UnknownTermError
from clinical_kg.terms import TermIndex
from clinical_kg.vocab import CKG
from tests.conftest import shipped

CKGID = "https://w3id.org/clinical-kg/id/"


@pytest.mark.parametrize("store", ["oxigraph", "memory"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [("radiating leg pain", "radiating-leg-pain"), ("Slipped Disc", "herniated-disc"), ("lumbago", "low-back-pain")],
)
def test_an_exact_label_or_synonym_resolves_without_building_the_index(store: str, text: str, expected: str) -> None:
    index = TermIndex(shipped(store))
    assert str(index.resolve(text)) == CKGID + expected
    assert "by_key" not in vars(index)


def test_a_forgiving_match_builds_the_index() -> None:
    index = TermIndex(shipped("oxigraph"))
    assert str(index.resolve("spasms in my lower back")) == CKGID + "lower-back-muscle-spasm"
    assert "by_key" in vars(index)


def test_the_wrong_kind_is_still_refused_with_suggestions() -> None:
    with pytest.raises(TermTypeError, match="a symptom, not a condition"):
        TermIndex(shipped("oxigraph")).resolve("muscle spasm", "condition", expected=CKG.Condition)


def test_quotes_in_a_value_cannot_break_the_exact_lookup() -> None:
    with pytest.raises(UnknownTermError):
        TermIndex(shipped("oxigraph")).resolve('pain"@en } ?entity ?p ?o { "x')
