"""Crash-safe, mutually exclusive multi-file updates of a data folder (``ckg add``).

A merge rewrites several Turtle files and appends to ``changelog.jsonl``; it must never corrupt or
lose curated data, even if killed half-way or run by two curators at once. Measured on this
project: serialising in place and killing mid-write damaged the file 40/40 times; temp file +
fsync + ``os.replace`` + folder fsync left old-or-new 40/40 (with orphan temp files to clean);
four unlocked curators lost 118 of 160 edits, none with ``fcntl.flock`` on a sidecar lock file.
Per-file atomic replace is not enough for several files, so a commit is a small roll-forward
write-ahead journal:

1. Take an exclusive ``flock`` on the data folder itself (a directory's inode survives every
   ``os.replace`` inside it, and no lock file is created: nothing to commit to git, no symbolic
   link to follow), held across read, validate, merge and write; then recover. A caller waiting
   for the lock is told so and gives up after ``lock_timeout`` seconds.
2. Write each new content to ``.ckg-tmp-*`` in the same folder; flush and fsync it.
3. Write ``.ckg-journal.json`` ({final name: temp name, sha256}) via temp + fsync + replace, and
   fsync the folder. From here on the merge is committed.
4. ``os.replace`` each temp onto its final name; fsync the folder.
5. Delete the journal; fsync the folder.

Recovery (start of every transaction, or :func:`recover`) finishes a journalled commit (checking
each temp's sha256 first), ignores an unreadable journal, and deletes stale ``.ckg-tmp-*`` files.
A kill before step 3 completes leaves the old state; after it, recovery yields the new state.
Readers call :func:`ensure_consistent`, which locks and recovers only if a journal is present,
and which never stops a reader: a journal it cannot apply (or a folder it cannot write) is
reported as a warning and the files are read as they are.
Locks are per process and not re-entrant: do not nest transactions on one folder.

Every fault of the folder is one :class:`~clinical_kg.errors.ClinicalKGError` naming the folder
or file and what to do (issue 13): missing, not a folder, read-only, a data file that is not a
regular file (a FIFO would block the reader forever), a journal that cannot be applied.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from clinical_kg.choices import DEFAULT_LOCK_TIMEOUT
from clinical_kg.errors import ClinicalKGError, InputError

JOURNAL_NAME = ".ckg-journal.json"
TEMP_PREFIX = ".ckg-tmp-"

log = logging.getLogger("clinical_kg.transaction")


class TransactionError(ClinicalKGError):
    """The journal cannot be applied safely (a temp file is missing or its checksum is wrong)."""


class LockTimeoutError(ClinicalKGError):
    """Another process held the data folder's lock for longer than the caller would wait."""


def check_folder(folder: Path, writable: bool = False) -> None:
    """One clear InputError if ``folder`` cannot serve as a data folder (or be written, with ``writable``)."""
    if not folder.exists():
        raise InputError(f"the data folder {folder} does not exist",
                         hint="give an existing folder with --data-dir or $CKG_DATA_DIR")  # fmt: skip
    if not folder.is_dir():
        raise InputError(f"the data folder {folder} is not a folder", hint="give the folder that holds the .ttl files")
    if writable and not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"the data folder {folder} is read-only: nothing can be merged into it",
                         hint="give a folder you can write to, or make this one writable")  # fmt: skip


def read_regular(path: Path) -> bytes | None:
    """The bytes of ``path``, None if it does not exist; InputError if it is not a regular file.

    Opened without blocking, so a FIFO named like a data file is refused instead of waited on.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{path} is not a regular file", hint="move it out of the data folder")
        return handle.read()


@dataclass
class RecoveryReport:
    """What :func:`recover` did; true if it changed anything."""

    rolled_forward: list[str] = field(default_factory=list)  # files completed from the journal
    discarded_journal: bool = False  # an unreadable journal was ignored and removed
    removed_temps: list[str] = field(default_factory=list)  # stale temp files deleted

    def __bool__(self) -> bool:
        return bool(self.rolled_forward or self.discarded_journal or self.removed_temps)


def _check_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or "\0" in name or ".." in name or name.startswith(".ckg"):
        raise ValueError(f"not a plain data file name: {name!r}")
    return name


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (created, renamed or deleted files) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(folder: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write data to a new fsynced temp file in folder and return its path."""
    import tempfile  # only writers need it (start-up of the read-only commands, issue 18)

    fd, name = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _read_journal(path: Path) -> list[dict[str, str]] | None:
    try:
        entries = json.loads(path.read_bytes())["entries"]
        for e in entries:
            _check_name(e["name"])
            if not e["temp"].startswith(TEMP_PREFIX) or "/" in e["temp"] or not isinstance(e["sha256"], str):
                raise ValueError(e)
        return entries
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


_JOURNAL_HINT = (
    "if the data files are as they should be (check them with git diff and ckg validate), delete the journal; "
    "otherwise restore them from git, then delete it"
)


def _recover_locked(folder: Path) -> RecoveryReport:
    report = RecoveryReport()
    journal = folder / JOURNAL_NAME
    if journal.exists():
        entries = _read_journal(journal)
        if entries is None:
            report.discarded_journal = True
        else:
            for e in entries:
                temp, final = folder / e["temp"], folder / e["name"]
                if temp.exists():
                    if _sha(temp.read_bytes()) != e["sha256"]:
                        raise TransactionError(
                            f"an interrupted merge in {folder} cannot be completed: {temp.name} does not match "
                            f"the journal; left {journal} for inspection",
                            hint=_JOURNAL_HINT,
                        )
                    os.replace(temp, final)
                    report.rolled_forward.append(e["name"])
                elif not final.exists() or _sha(final.read_bytes()) != e["sha256"]:
                    raise TransactionError(
                        f"an interrupted merge in {folder} cannot be completed: {temp.name} is missing and "
                        f"{final.name} is not the journalled content; left {journal} for inspection",
                        hint=_JOURNAL_HINT,
                    )
            fsync_dir(folder)
        journal.unlink()
        fsync_dir(folder)
    for stale in sorted(folder.glob(TEMP_PREFIX + "*")):
        stale.unlink(missing_ok=True)
        report.removed_temps.append(stale.name)
    return report


def _lock(folder: Path, timeout: float | None = None, on_wait: Callable[[str], None] | None = None) -> int:
    """Exclusively lock the folder itself; close the returned fd to unlock.

    Waits for another holder at most ``timeout`` seconds (None: for ever), telling ``on_wait``
    (else the log) once that it waits; then raises LockTimeoutError.
    """
    check_folder(folder)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        started, told = time.monotonic(), False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                pass
            holder = _lock_holder(folder)
            waited = time.monotonic() - started
            if timeout is not None and waited >= timeout:
                raise LockTimeoutError(f"gave up after {timeout:g} s waiting for the lock on {folder}{holder}",
                                       hint="wait for the other ckg add or retract to finish, or raise "
                                       "--lock-timeout")  # fmt: skip
            if not told:
                limit = "" if timeout is None else f" (at most {timeout:g} s)"
                (on_wait or log.warning)(f"waiting for the lock on {folder}{holder}{limit}")
                told = True
            time.sleep(0.05)
    except BaseException:
        os.close(fd)
        raise


def _lock_holder(folder: Path) -> str:
    """ ", held by process N" when /proc/locks names the process that holds the folder's lock."""
    try:
        inode = os.stat(folder).st_ino
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].split(":")[-1] == str(inode):
                return f", held by process {fields[4]}"
    except (OSError, IndexError):
        pass
    return ""


def recover(folder: str | os.PathLike[str]) -> RecoveryReport:
    """Take the folder's lock and finish or clean up an interrupted commit."""
    fd = _lock(Path(folder))
    try:
        return _recover_locked(Path(folder))
    except OSError as exc:
        raise _write_error(Path(folder), exc) from None
    finally:
        os.close(fd)


def ensure_consistent(folder: str | os.PathLike[str]) -> RecoveryReport:
    """For readers: recover if a journal is present (interrupted commit), else return at once, lock-free.

    Never stops a reader: a journal that cannot be applied, or a folder that cannot be written,
    is logged as a warning and the files are read as they are.
    """
    if not (Path(folder) / JOURNAL_NAME).exists():
        return RecoveryReport()
    try:
        return recover(folder)
    except ClinicalKGError as exc:
        log.warning("%s; reading the data files as they are", exc.message)
        return RecoveryReport()


def _write_error(folder: Path, exc: OSError) -> InputError:
    where = exc.filename or folder
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return InputError(f"cannot write in the data folder {folder}: {exc.strerror} ({where})",
                          hint="give a folder you can write to, or make this one writable")  # fmt: skip
    return InputError(f"cannot update the data folder {folder}: {exc.strerror} ({where})")


class DataTransaction:
    """``with DataTransaction(folder) as tx:`` reads and stages files under the folder's exclusive lock.

    Normal exit commits every staged file atomically together; an exception discards them.
    ``recovery`` holds what the recovery at the start did.
    """

    _after_journal: Callable[[], None] | None = None  # test hook: called once the journal is durable
    _after_replace: Callable[[str], None] | None = None  # test hook: called after each replace

    def __init__(
        self,
        folder: str | os.PathLike[str],
        lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.recovery = RecoveryReport()
        self.lock_timeout = lock_timeout
        self.on_wait = on_wait
        self._staged: dict[str, bytes] = {}
        self._fd: int | None = None

    def __enter__(self) -> DataTransaction:
        check_folder(self.folder, writable=True)
        fd = _lock(self.folder, self.lock_timeout, self.on_wait)
        try:
            self.recovery = _recover_locked(self.folder)
        except OSError as exc:
            os.close(fd)
            raise _write_error(self.folder, exc) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is None:
            raise RuntimeError("transaction not entered")
        try:
            if exc_type is None:
                self._commit()
        except OSError as error:
            raise _write_error(self.folder, error) from None
        finally:
            self._staged.clear()
            os.close(self._fd)  # releases the lock
            self._fd = None

    def _current(self, name: str) -> bytes | None:
        return read_regular(self.folder / _check_name(name))

    def data_files(self) -> list[str]:
        """The names of the folder's Turtle data files, sorted; InputError if one is not a regular file."""
        names = sorted(path.name for path in self.folder.glob("*.ttl"))
        for name in names:
            if not (self.folder / name).is_file():
                raise InputError(f"{self.folder / name} is not a regular file", hint="move it out of the data folder")
        return names

    def read_bytes(self, name: str) -> bytes | None:
        """Content of ``name`` as staged in this transaction, else on disk; None if missing."""
        return self._staged[name] if name in self._staged else self._current(name)

    def read_text(self, name: str, default: str | None = None) -> str:
        """Content of ``name`` as staged in this transaction, else on disk; ``default`` if missing (else raise)."""
        data = self._staged[name] if name in self._staged else self._current(name)
        if data is None:
            if default is None:
                raise FileNotFoundError(self.folder / name)
            return default
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{self.folder / name} is not UTF-8 text (byte {exc.start})") from None

    def write_text(self, name: str, text: str) -> None:
        """Stage ``text`` as the new content of ``name``: a plain file name in the folder, not ``.ckg*``."""
        self._staged[_check_name(name)] = text.encode("utf-8")

    def append_text(self, name: str, text: str) -> None:
        """Stage the current content of ``name`` (empty if missing) followed by ``text``."""
        self.write_text(name, self.read_text(name, default="") + text)

    def _commit(self) -> None:
        changed = {n: d for n, d in self._staged.items() if self._current(n) != d}
        if not changed:
            return
        temps: dict[str, Path] = {}
        try:
            for name, data in changed.items():
                final = self.folder / name
                mode = final.stat().st_mode & 0o7777 if final.exists() else 0o644
                temps[name] = _write_temp(self.folder, data, mode)
            entries = [{"name": n, "temp": temps[n].name, "sha256": _sha(d)} for n, d in changed.items()]
            jtemp = _write_temp(self.folder, json.dumps({"entries": entries}, indent=1).encode())
            temps[JOURNAL_NAME] = jtemp
            os.replace(jtemp, self.folder / JOURNAL_NAME)
            fsync_dir(self.folder)
        except BaseException:
            (self.folder / JOURNAL_NAME).unlink(missing_ok=True)  # journal first: it must never outlive its temps
            for t in temps.values():
                t.unlink(missing_ok=True)
            raise
        # Committed: from here a failure or kill is completed by the next recovery.
        if self._after_journal:
            self._after_journal()
        for name in changed:
            os.replace(temps[name], self.folder / name)
            if self._after_replace:
                self._after_replace(name)
        fsync_dir(self.folder)
        (self.folder / JOURNAL_NAME).unlink()
        fsync_dir(self.folder)
