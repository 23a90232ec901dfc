"""Evidence quotes against the texts of their sources.

The source texts are found in one folder (:func:`clinical_kg.resources.locate_sources`), each by
the source's ``ckg:fileName`` and its recorded SHA-256 (a text saved under another name is
still found; see docs/decisions/0006-source-texts-and-data-location.md). Names are only ever
compared with the names of the files in that folder, never joined to it as a path, so a
candidate's ``ckg:fileName`` cannot reach a file outside it.

A quote is good evidence when it is a verbatim span of the source (white space folded) that
begins and ends on word boundaries and holds at least :data:`MIN_QUOTE_WORDS` words; its hedge,
if any, is words of the quote; and it mentions the statement's subject or object by a label or
synonym (compared by word stems, so "spasms" mentions "spasm").
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from clinical_kg.canonical import fold_whitespace
from clinical_kg.resources import SourcesLocation
from clinical_kg.terms import stems, words

MIN_QUOTE_WORDS = 3  # "Your pain is constant." (4) is the shortest quote of the curated data
MAX_SOURCE_BYTES = 20_000_000  # files larger than this in the sources folder are not read


@dataclass(frozen=True)
class SourceText:
    """The text of a source as found on disk."""

    path: Path
    text: str
    sha256: str

    @property
    def folded(self) -> str:
        """The text with runs of white space folded to one space, as quotes are compared."""
        return fold_whitespace(self.text)


@dataclass
class SourceTexts:
    """The source texts of one folder, found by file name or checksum, each read once."""

    location: SourcesLocation
    _by_name: dict[str, Path] | None = field(default=None, repr=False)
    _by_sha: dict[str, Path] | None = field(default=None, repr=False)
    _read: dict[Path, SourceText] = field(default_factory=dict, repr=False)

    def _files(self) -> dict[str, Path]:
        if self._by_name is None:
            self._by_name = {}
            try:
                entries = list(os.scandir(self.location.path))
            except OSError:
                entries = []
            for entry in entries:
                try:
                    if entry.is_file() and entry.stat().st_size <= MAX_SOURCE_BYTES:
                        self._by_name[entry.name] = Path(entry.path)
                except OSError:
                    continue
        return self._by_name

    def _checksums(self) -> dict[str, Path]:
        if self._by_sha is None:
            self._by_sha = {}
            for path in sorted(self._files().values()):
                try:
                    self._by_sha.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path)
                except OSError:
                    continue
        return self._by_sha

    def find(self, file_name: str | None, sha256: str | None) -> SourceText | None:
        """The text of the source: the file named ``file_name`` if its SHA-256 is ``sha256`` (or
        none is recorded), else the file whose SHA-256 is ``sha256`` (a renamed copy), else the file
        named ``file_name`` (a changed text); None when there is none, or it is not UTF-8 text."""
        named = self._read_text(self._files().get(file_name)) if file_name else None
        if named is not None and (not sha256 or named.sha256 == sha256.lower()):
            return named
        by_checksum = self._read_text(self._checksums().get(sha256.lower())) if sha256 else None
        return by_checksum or named

    def _read_text(self, path: Path | None) -> SourceText | None:
        if path is None:
            return None
        if path not in self._read:
            try:
                data = path.read_bytes()
                self._read[path] = SourceText(path, data.decode("utf-8"), hashlib.sha256(data).hexdigest())
            except (OSError, UnicodeDecodeError):
                return None
        return self._read[path]

    def where(self, file_name: str | None, sha256: str | None) -> str:
        """Where :meth:`find` looked, for the message when it found nothing."""
        folder = self.location.describe()
        if not self.location.path.is_dir():
            state = "is not a folder" if self.location.path.exists() else "does not exist"
            return f"looked in {folder}, which {state}"
        by_name = [f'a file named "{file_name}"'] if file_name else []
        wanted = " or ".join(by_name + ([f"a file with SHA-256 {sha256}"] if sha256 else []))
        return f"looked in {folder} for {wanted or 'a file (the source has no ckg:fileName or ckg:sha256)'}"


def _is_word_char(char: str) -> bool:
    return char.isalnum()


def quote_span(folded_text: str, quote: str) -> tuple[int, int] | None:
    """Where the (white-space folded) quote occurs in the folded text: the first occurrence on
    word boundaries if there is one, else the first occurrence; None if it does not occur."""
    quote = fold_whitespace(quote)
    if not quote:
        return None
    first = None
    start = folded_text.find(quote)
    while start >= 0:
        end = start + len(quote)
        first = first or (start, end)
        if is_whole_words(folded_text, start, end):
            return start, end
        start = folded_text.find(quote, start + 1)
    return first


def is_whole_words(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` neither begins nor ends inside a word."""
    begins = start == 0 or not (_is_word_char(text[start - 1]) and _is_word_char(text[start]))
    ends = end == len(text) or not (_is_word_char(text[end - 1]) and _is_word_char(text[end]))
    return begins and ends


def hedge_in_quote(hedge: str, quote: str) -> bool:
    """True when the hedge's words occur together, in order, among the quote's words ("usually"
    in "... usually no more effective ...", not in "unusually")."""
    wanted, have = words(hedge), words(quote)
    return bool(wanted) and any(have[i : i + len(wanted)] == wanted for i in range(len(have) - len(wanted) + 1))


def mentioned(quote: str, names: Iterable[str]) -> list[str]:
    """The names that the quote mentions: every word of the name, by its stem, is in the quote."""
    have = stems(quote)
    return [name for name in names if stems(name) and stems(name) <= have]
