"""Evidence quotes against source texts: found by name or checksum, whole words, hedges, mentions."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from clinical_kg.evidence import SourceTexts, hedge_in_quote, is_whole_words, mentioned, quote_span
from clinical_kg.resources import SourcesLocation
from tests.conftest import SOURCE_TEXT


def test_a_source_text_is_found_by_file_name_or_by_checksum(tmp_path: Path) -> None:
    shutil.copy(SOURCE_TEXT, tmp_path / "renamed.txt")
    (tmp_path / "other.txt").write_text("another text", encoding="utf-8")
    sha = hashlib.sha256(SOURCE_TEXT.read_bytes()).hexdigest()
    texts = SourceTexts(SourcesLocation(tmp_path, "--sources-dir"))
    assert texts.find("other.txt", None).path == tmp_path / "other.txt"  # the name, with no checksum recorded
    assert texts.find("other.txt", sha).path == tmp_path / "renamed.txt"  # the checksum over a changed text
    assert texts.find(SOURCE_TEXT.name, sha).path == tmp_path / "renamed.txt"  # a renamed copy
    assert texts.find("other.txt", "0" * 64).path == tmp_path / "other.txt"  # a changed text: checksum check fails
    assert texts.find(SOURCE_TEXT.name, None) is None
    assert texts.where(SOURCE_TEXT.name, None) == (
        f'looked in {tmp_path} (--sources-dir) for a file named "{SOURCE_TEXT.name}"'
    )


def test_a_name_is_never_a_path_out_of_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sources").mkdir()
    (tmp_path / "secret.txt").write_text("credentials", encoding="utf-8")
    texts = SourceTexts(SourcesLocation(tmp_path / "sources", "--sources-dir"))
    for name in ("../secret.txt", str(tmp_path / "secret.txt"), "./../secret.txt"):
        assert texts.find(name, None) is None


def test_a_missing_folder_is_said_to_be_missing(tmp_path: Path) -> None:
    texts = SourceTexts(SourcesLocation(tmp_path / "sources", "beside the data"))
    assert texts.find("x.txt", "ab") is None
    assert texts.where("x.txt", "ab") == f"looked in {tmp_path / 'sources'} (beside the data), which does not exist"


def test_quotes_are_spans_of_whole_words() -> None:
    text = "Back spasms often make walking painful. Unusually, rest helps."
    assert quote_span(text, "often make") == (12, 22) and is_whole_words(text, 12, 22)
    start, end = quote_span(text, "ften mak")
    assert not is_whole_words(text, start, end)
    assert quote_span(text, "usually, rest") is not None
    assert not is_whole_words(text, *quote_span(text, "usually, rest"))
    assert quote_span(text, "Back spasms always") is None


def test_a_hedge_is_words_of_its_quote() -> None:
    assert hedge_in_quote("often", "pain often radiates")
    assert hedge_in_quote("no more effective than", "opioids are usually no more effective than NSAIDs")
    assert not hedge_in_quote("usually", "unusually, rest helps")
    assert not hedge_in_quote("usually", "Back spasms make you stiff.")


def test_a_quote_mentions_a_name_by_the_stems_of_its_words() -> None:
    quote = "With lower back spasms, pain often radiates to other locations"
    assert mentioned(quote, ["lower back muscle spasm", "back spasm", "radiating pain", "leg pain"]) == [
        "back spasm",
        "radiating pain",
    ]
