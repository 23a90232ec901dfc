"""A candidate's ckg:fileName never reaches a file outside the sources folder (T23): names are only compared with
the folder's entries (evidence.SourceTexts), so a planted secret is never read, let alone printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "AWS_SECRET_ACCESS_KEY=planted-by-the-test"

CANDIDATE = """\
@prefix ckg: <https://w3id.org/clinical-kg/vocab/> .
@prefix dcterms: <http://purl.org/dc/terms/> .

<https://w3id.org/clinical-kg/source/planted> a ckg:SourceDocument ;
    dcterms:title "A planted source"@en ;
    ckg:fileName "{name}" .
"""


@pytest.fixture(params=["file", "fifo"])
def planted(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """A sources folder, and beside it a secret: a file of credentials, or a FIFO that would block whoever opens it."""
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "article.txt").write_text("The article.\n", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    if request.param == "fifo":
        os.mkfifo(secret)
    else:
        secret.write_text(SECRET + "\n", encoding="utf-8")
    return sources, secret


@pytest.mark.parametrize("name", ["../secret.txt", "{secret}"])
def test_a_file_name_leading_out_of_the_sources_folder_is_refused_unread(
    planted: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    sources, secret = planted
    candidate = tmp_path / "candidate.ttl"
    candidate.write_text(CANDIDATE.format(name=name.format(secret=secret)), encoding="utf-8")
    command = [sys.executable, "-m", "clinical_kg.cli", "validate", str(candidate), "--sources-dir", str(sources)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stdout + result.stderr  # and it did not block on the FIFO: never opened
    assert (
        f"the text of ckgsrc:planted was not found, so its quotes were not checked: looked in {sources}"
        in result.stdout
    )
    assert SECRET not in result.stdout + result.stderr
