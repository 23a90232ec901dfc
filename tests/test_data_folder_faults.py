"""Every fault of a data folder is one clear message and exit 2, never a traceback or a hang (issue 13).

And what a candidate may hold: no control characters in literals, no nesting deeper than the cap.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clinical_kg.ingest import MAX_NESTING
from clinical_kg.transaction import JOURNAL_NAME, TEMP_PREFIX
from tests.conftest import ROOT, SOURCES

DATA = ROOT / "data"
CANDIDATE = ROOT / "tests" / "candidates" / "good" / "debilitating-back-pain.ttl"
HEADLINE = ["query", "conditions-causing-symptom", "--param", "symptom=radiating leg pain", "--format", "csv"]


def run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "clinical_kg.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})  # fmt: skip


def every_byte(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()}


def one_clear_error(result: subprocess.CompletedProcess, message: str) -> None:
    """Exit 2 and one ``error:`` line that starts with ``message`` (after the line naming the data folder, if any)."""
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {message}"), result.stderr
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DATA, tmp_path / "data"))


def stuck_journal(folder: Path) -> None:
    """A journal whose temp file has gone and whose target does not hold the journalled content."""
    entry = {"name": "symptoms.ttl", "temp": TEMP_PREFIX + "gone", "sha256": "0" * 64}
    (folder / JOURNAL_NAME).write_text(json.dumps({"entries": [entry]}), encoding="utf-8")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("missing", "the data folder {folder} (--data-dir) is not a folder"),
        ("a file", "the data folder {folder} (--data-dir) is not a folder"),
        ("fifo", "{folder}/symptoms.ttl is not a regular file"),
        ("unparseable", "{folder}/symptoms.ttl: the curated data file does not parse"),
        ("stuck journal", "an interrupted merge in {folder} cannot be completed"),
    ],
)
def test_add_into_a_faulty_data_folder_gives_one_clear_error(data: Path, tmp_path: Path, fault: str, message: str):
    folder = data
    if fault == "missing":
        folder = tmp_path / "nowhere"
    elif fault == "a file":
        folder = tmp_path / "file.ttl"
        folder.write_text("", encoding="utf-8")
    elif fault == "fifo":
        (data / "symptoms.ttl").unlink()
        os.mkfifo(data / "symptoms.ttl")
    elif fault == "unparseable":
        with (data / "symptoms.ttl").open("a", encoding="utf-8") as handle:
            handle.write("\nckgid:broken ckg:oops .\n")
    else:
        stuck_journal(data)
    before = every_byte(data)
    result = run("add", CANDIDATE, "--data-dir", folder, "--sources-dir", SOURCES, timeout=60)  # a FIFO: no hang
    one_clear_error(result, message.format(folder=folder))
    assert every_byte(data) == before


def test_add_into_a_read_only_folder_gives_one_clear_error(data: Path) -> None:
    """Read-only as a mount, which binds root too (CI runs as root), in a mount namespace of its own."""
    before = every_byte(data)
    mount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    command = ["unshare", "--mount", "sh", "-c", mount, str(data), sys.executable, "-m", "clinical_kg.cli", "add",
               str(CANDIDATE), "--data-dir", str(data), "--sources-dir", str(SOURCES)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    one_clear_error(result, f"the data folder {data} is read-only: nothing can be merged into it")
    assert every_byte(data) == before


def test_read_commands_still_work_where_a_merge_is_stuck_and_say_so(data: Path) -> None:
    stuck_journal(data)
    result = run(*HEADLINE, env={"CKG_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("condition,conditionLabel,")
    assert result.stderr.startswith(f"warning: an interrupted merge in {data} cannot be completed")
    assert (data / JOURNAL_NAME).exists()  # left for the curator to inspect


@pytest.mark.parametrize(("fault", "message"), [("missing", "is not a folder"), ("fifo", "is not a regular file")])
def test_read_commands_name_a_missing_folder_or_a_fifo(data: Path, fault: str, message: str) -> None:
    if fault == "missing":
        shutil.rmtree(data)
    else:
        os.mkfifo(data / "zz-fifo.ttl")
    result = run(*HEADLINE, env={"CKG_DATA_DIR": str(data)}, timeout=60)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_add_says_it_waits_for_the_lock_and_gives_up_after_the_timeout(data: Path) -> None:
    fd = os.open(data, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another curator's merge, as far as ckg add can tell
    try:
        before = every_byte(data)
        result = run("add", CANDIDATE, "--data-dir", data, "--sources-dir", SOURCES, "--lock-timeout", "1")
    finally:
        os.close(fd)
    assert result.returncode == 2
    assert f"waiting for the lock on {data}, held by process {os.getpid()} (at most 1 s) ..." in result.stderr
    assert f"error: gave up after 1 s waiting for the lock on {data}, held by process {os.getpid()}" in result.stderr
    assert every_byte(data) == before


def test_no_command_creates_a_lock_file_or_follows_a_planted_one(data: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (data / ".ckg.lock").symlink_to(outside)
    assert run(*HEADLINE, env={"CKG_DATA_DIR": str(data)}).returncode == 0
    assert run("add", CANDIDATE, "--data-dir", data, "--sources-dir", SOURCES).returncode == 0
    assert not outside.exists()
    assert not [p.name for p in data.iterdir() if p.name.startswith(".ckg") and p.name != ".ckg.lock"]


def test_load_of_a_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    whole = gzip.compress((DATA / "symptoms.ttl").read_bytes())
    broken = tmp_path / "symptoms.ttl.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    result = run("load", broken, "--store-path", tmp_path / "store")
    one_clear_error(result, f"{broken}: not a complete gzip file")


# ---------------------------------------------------------------- what a candidate may hold

PREFIXES = (
    "@prefix ckg: <https://w3id.org/clinical-kg/vocab/> .\n@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
)


@pytest.mark.parametrize(
    ("literal", "shown", "column"),
    [
        ('"a\\u0000b"', "U+0000 (NUL)", 54),
        ('"a\\uFFFFb"', "U+FFFF", 54),
        ('"a\\u0001b"', "U+0001", 54),
        ('"a\x1b[2Jb"', "U+001B (ESC)", 54),
    ],
)
def test_control_characters_in_literals_are_refused_with_their_position(
    tmp_path: Path, literal: str, shown: str, column: int
) -> None:
    candidate = tmp_path / "candidate.ttl"
    candidate.write_text(PREFIXES + f"<https://w3id.org/clinical-kg/id/x> skos:prefLabel {literal}@en .\n",
                         encoding="utf-8")  # fmt: skip
    result = run("validate", candidate)
    one_clear_error(result, f"{candidate}:3:{column}: a literal holds the control character {shown}")


def test_a_retraction_reason_with_an_escape_sequence_is_refused(data: Path) -> None:
    before = every_byte(data)
    result = run("retract", "ckga:0000000000000000", "--reason", "typo\x1b[2J", "--data-dir", data)
    one_clear_error(result, "the reason holds the control character U+001B (ESC)")
    assert every_byte(data) == before


def test_deep_nesting_is_refused_before_parsing(tmp_path: Path) -> None:
    """100,000 levels of [ ] used to take minutes to validate (quadratic); refused at the cap, with the position."""
    depth = 100_000
    candidate = tmp_path / "deep.ttl"
    body = "ckg:x " + "[ ckg:x " * depth + "ckg:y" + " ]" * depth + " .\n"
    candidate.write_text(PREFIXES + "<https://w3id.org/clinical-kg/id/x> " + body, encoding="utf-8")
    started = time.monotonic()
    result = run("validate", candidate, timeout=120)
    column = len("<https://w3id.org/clinical-kg/id/x> ckg:x ") + MAX_NESTING * len("[ ckg:x ") + 1
    one_clear_error(result, f"{candidate}:3:{column}: blank nodes or lists nested more than {MAX_NESTING} levels deep")
    print(f"\n100k-deep candidate refused in {time.monotonic() - started:.2f} s (process start included)")
