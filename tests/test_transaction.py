"""DataTransaction: atomic multi-file commits, roll-forward recovery, SIGKILL and concurrency tests."""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clinical_kg import transaction
from clinical_kg.transaction import (
    JOURNAL_NAME,
    TEMP_PREFIX,
    DataTransaction,
    TransactionError,
    ensure_consistent,
    recover,
)
from tests.transaction_worker import CHANGELOG, DATA_FILES, content, state_version

WORKER = Path(__file__).with_name("transaction_worker.py")
OLD = {"a.ttl": "old a\n", "b.ttl": "old b\n", "c.ttl": "old c\n"}
NEW = {"a.ttl": "new a\n", "b.ttl": "new b\n", "c.ttl": "new c\n"}


def texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir()) if not p.name.startswith(".ckg")}


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(TEMP_PREFIX + "*"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in OLD.items():
        (tmp_path / name).write_text(text)
    return tmp_path


# 1. Unit behaviour


def test_commit_writes_all_files(folder: Path) -> None:
    with DataTransaction(folder) as tx:
        assert tx.read_text("a.ttl") == "old a\n"
        for name, text in NEW.items():
            tx.write_text(name, text)
        assert tx.read_text("a.ttl") == "new a\n"  # staged content is visible inside the transaction
        tx.append_text(CHANGELOG, "one\n")
        tx.append_text(CHANGELOG, "two\n")
    assert texts(folder) == {**NEW, CHANGELOG: "one\ntwo\n"}
    assert temps(folder) == [] and not (folder / JOURNAL_NAME).exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted({*NEW, *OLD, CHANGELOG})  # no lock file either


def test_exception_changes_nothing(folder: Path) -> None:
    with pytest.raises(RuntimeError, match="validation failed"), DataTransaction(folder) as tx:
        for name, text in NEW.items():
            tx.write_text(name, text)
        raise RuntimeError("validation failed")
    assert texts(folder) == OLD
    assert temps(folder) == [] and not (folder / JOURNAL_NAME).exists()


def test_unchanged_write_keeps_inode_and_mode_is_kept(folder: Path) -> None:
    (folder / "b.ttl").chmod(0o640)
    before = {name: (folder / name).stat().st_ino for name in OLD}
    with DataTransaction(folder) as tx:
        tx.write_text("a.ttl", OLD["a.ttl"])
        tx.write_text("b.ttl", NEW["b.ttl"])
    assert (folder / "a.ttl").stat().st_ino == before["a.ttl"]
    assert (folder / "b.ttl").stat().st_ino != before["b.ttl"]
    assert stat.S_IMODE((folder / "b.ttl").stat().st_mode) == 0o640
    assert texts(folder) == {**OLD, "b.ttl": NEW["b.ttl"]}


@pytest.mark.parametrize("name", ["sub/a.ttl", "/etc/passwd", "..", "../a.ttl", "", ".ckg.lock", ".ckg-journal.json"])
def test_bad_names_are_refused(folder: Path, name: str) -> None:
    with DataTransaction(folder) as tx:
        with pytest.raises(ValueError):
            tx.write_text(name, "x")
        with pytest.raises(ValueError):
            tx.read_text(name, default="")
    assert texts(folder) == OLD


def test_read_missing(folder: Path) -> None:
    with DataTransaction(folder) as tx:
        with pytest.raises(FileNotFoundError):
            tx.read_text("missing.ttl")
        assert tx.read_text("missing.ttl", default="") == ""


# 2. Order of fsync and replace


def test_fsync_before_replace_and_folder_fsynced(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, ...]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
            events.append(("fsync-dir", os.readlink(f"/proc/self/fd/{fd}")))
        else:
            events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}")).name))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(("replace", Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with DataTransaction(folder) as tx:
        for name, text in NEW.items():
            tx.write_text(name, text)
    monkeypatch.undo()
    assert texts(folder) == NEW

    replaces = [i for i, e in enumerate(events) if e[0] == "replace"]
    dir_fsyncs = [i for i, e in enumerate(events) if e == ("fsync-dir", str(folder))]
    journal_at = next(i for i in replaces if events[i][2] == JOURNAL_NAME)
    data_replaces = [i for i in replaces if events[i][2] in NEW]
    assert sorted(events[i][2] for i in data_replaces) == sorted(NEW)
    for i in replaces:  # every temp file was fsynced before it was renamed
        assert ("fsync", events[i][1]) in events[:i]
    assert journal_at < min(data_replaces)  # the journal is durable before any data file is replaced
    assert any(journal_at < d < min(data_replaces) for d in dir_fsyncs)
    assert any(d > max(data_replaces) for d in dir_fsyncs)
    assert events[-1][0] == "fsync-dir"  # after deleting the journal
    assert not (folder / JOURNAL_NAME).exists()


# 3. Recovery


def crash(*args: object) -> None:
    """Test hook: stands in for a kill at that point of the commit."""
    raise KeyboardInterrupt


def test_crash_after_journal_rolls_forward(folder: Path) -> None:
    with pytest.raises(KeyboardInterrupt), DataTransaction(folder) as tx:
        tx._after_journal = crash
        for name, text in NEW.items():
            tx.write_text(name, text)
    assert texts(folder) == OLD and (folder / JOURNAL_NAME).exists() and len(temps(folder)) == 3
    report = recover(folder)
    assert sorted(report.rolled_forward) == sorted(NEW) and report
    assert texts(folder) == NEW
    assert temps(folder) == [] and not (folder / JOURNAL_NAME).exists()


def test_crash_between_replaces_rolls_forward_on_next_transaction(folder: Path) -> None:
    with pytest.raises(KeyboardInterrupt), DataTransaction(folder) as tx:
        tx._after_replace = crash
        for name, text in NEW.items():
            tx.write_text(name, text)
    assert texts(folder) == {**OLD, "a.ttl": NEW["a.ttl"]}  # half-committed on disk
    assert ensure_consistent(folder).rolled_forward == ["b.ttl", "c.ttl"]  # a reader repairs it
    assert texts(folder) == NEW and temps(folder) == []


def test_next_transaction_recovers_first(folder: Path) -> None:
    with pytest.raises(KeyboardInterrupt), DataTransaction(folder) as tx:
        tx._after_journal = crash
        tx.write_text("a.ttl", NEW["a.ttl"])
    with DataTransaction(folder) as tx:
        assert tx.recovery.rolled_forward == ["a.ttl"]
        assert tx.read_text("a.ttl") == NEW["a.ttl"]


def test_stale_temp_and_corrupt_journal_are_removed(folder: Path) -> None:
    (folder / (TEMP_PREFIX + "orphan")).write_text("half a file")
    (folder / JOURNAL_NAME).write_text('{"entries": [{"name": "a.ttl", "te')
    report = recover(folder)
    assert report.discarded_journal and report.removed_temps == [TEMP_PREFIX + "orphan"] and not report.rolled_forward
    assert texts(folder) == OLD and temps(folder) == [] and not (folder / JOURNAL_NAME).exists()
    assert not recover(folder)  # nothing left to do


def test_hand_made_journal_with_bad_checksum_is_refused(folder: Path) -> None:
    (folder / (TEMP_PREFIX + "x")).write_text("new a\n")
    entry = {"name": "a.ttl", "temp": TEMP_PREFIX + "x", "sha256": "0" * 64}
    (folder / JOURNAL_NAME).write_text(json.dumps({"entries": [entry]}))
    with pytest.raises(TransactionError):
        recover(folder)
    assert texts(folder) == OLD and (folder / JOURNAL_NAME).exists()  # left for inspection


def test_ensure_consistent_is_lock_free_without_journal(tmp_path: Path) -> None:
    assert not ensure_consistent(tmp_path)
    assert list(tmp_path.iterdir()) == []


# 4. SIGKILL at random moments


def test_kill_leaves_one_consistent_version(tmp_path: Path) -> None:
    with DataTransaction(tmp_path) as tx:
        for name in DATA_FILES:
            tx.write_text(name, content(0, name))
        tx.write_text(CHANGELOG, "")
    rng = random.Random(20240611)
    runs, failures, rolled, discarded, version = 40, [], 0, 0, 0
    start = time.monotonic()
    for run in range(runs):
        proc = subprocess.Popen([sys.executable, str(WORKER), "kill", str(tmp_path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        # Killed at a random moment after the run's first commit (a state, not a time: under load a commit
        # can take longer than any fixed delay), so each run commits at least once.
        assert proc.stdout.readline().startswith("committed ")
        time.sleep(rng.uniform(0.001, 0.050))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        try:
            if run % 2:  # the read side alone must already see one consistent version (it leaves orphan temps)
                rolled += bool(ensure_consistent(tmp_path).rolled_forward)
                state_version(tmp_path)
            report = recover(tmp_path)
            rolled += bool(report.rolled_forward)
            discarded += bool(report.removed_temps) and not report.rolled_forward
            new_version = state_version(tmp_path)
            assert new_version >= version, f"went back from {version} to {new_version}"
            assert temps(tmp_path) == [] and not (tmp_path / JOURNAL_NAME).exists()
            version = new_version
        except AssertionError as e:
            failures.append(f"run {run}: {e}")
    elapsed = time.monotonic() - start
    print(
        f"\nkill test: {runs} SIGKILLs, {version} commits completed, {rolled} kills after the journal (rolled "
        f"forward), {discarded} during staging (temps discarded), {len(failures)} failures, {elapsed:.1f} s"
    )
    assert failures == []
    assert version >= runs


# 5. Concurrent read-modify-write


def test_concurrent_increments_are_not_lost(tmp_path: Path) -> None:
    start = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "counter", str(tmp_path), "25"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in procs:  # release all four at once
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.close()
    for p in procs:
        assert p.wait(timeout=60) == 0
        assert p.stdout is not None
        p.stdout.close()
    lines = (tmp_path / "log.txt").read_text().splitlines()
    print(
        f"\nconcurrency test: 4 processes x 25 transactions, counter={(tmp_path / 'counter.txt').read_text().strip()}, "
        f"log lines={len(lines)}, writers={len({line.split()[0] for line in lines})}, {time.monotonic() - start:.1f} s"
    )
    assert (tmp_path / "counter.txt").read_text() == "100\n"
    assert [int(line.split()[1]) for line in lines] == list(range(1, 101))
    assert len({line.split()[0] for line in lines}) == 4
    assert temps(tmp_path) == []


def test_the_lock_is_the_folder_itself(tmp_path: Path) -> None:
    """An flock on the folder: its inode survives every replace inside it, and no lock file is ever made."""
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with (
            pytest.raises(
                transaction.LockTimeoutError, match=f"gave up after 0.2 s waiting for the lock on {tmp_path}"
            ),
            DataTransaction(tmp_path, lock_timeout=0.2) as tx,
        ):
            tx.write_text("a.ttl", "1")
    finally:
        os.close(fd)
    with DataTransaction(tmp_path) as tx:
        tx.write_text("a.ttl", "2")
    assert [p.name for p in tmp_path.iterdir()] == ["a.ttl"]
