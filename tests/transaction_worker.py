"""Worker process for tests/test_transaction.py: commits DataTransactions in a loop until killed or done.

``python tests/transaction_worker.py kill FOLDER``: print "ready", then forever commit version N+1 of
three data files (several hundred KB each) and append ``{"version": N+1}`` to changelog.jsonl, printing
"committed N+1" after each commit.

``python tests/transaction_worker.py counter FOLDER COUNT``: print "ready", wait for a line on stdin,
then COUNT times read counter.txt, increment it, write it back and append a line to log.txt.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from clinical_kg.transaction import DataTransaction

DATA_FILES = ("causes.ttl", "conditions.ttl", "treatments.ttl")
CHANGELOG = "changelog.jsonl"
LINES = 15_000  # about 330 KB per file


def content(version: int, name: str) -> str:
    """Text of one data file at one version: header, body, and a trailer with the sha256 of the rest."""
    head = f"# {name} version {version}\n" + "".join(f"ex:e{i} ex:v {version} .\n" for i in range(LINES))
    return head + f"# end {version} {hashlib.sha256(head.encode()).hexdigest()}\n"


def file_version(text: str) -> int:
    """The version a data file is at; AssertionError if it is partial or inconsistent."""
    head, sep, trailer = text.rstrip("\n").rpartition("\n")
    assert sep and trailer.startswith("# end "), "no trailer: truncated file"
    _, _, version, sha = trailer.split(" ")
    assert hashlib.sha256((head + "\n").encode()).hexdigest() == sha, "sha256 mismatch: damaged file"
    assert head.split("\n", 1)[0].endswith(f" version {version}"), "header and trailer disagree"
    return int(version)


def state_version(folder: Path) -> int:
    """The one version N that all data files and the changelog agree on; AssertionError if mixed."""
    versions = {name: file_version((folder / name).read_text()) for name in DATA_FILES}
    assert len(set(versions.values())) == 1, f"mixed versions: {versions}"
    (n,) = set(versions.values())
    log = [json.loads(line)["version"] for line in (folder / CHANGELOG).read_text().splitlines()]
    assert log == list(range(1, n + 1)), f"changelog has {len(log)} lines ending {log[-1:]}, files at {n}"
    return n


def kill_loop(folder: Path) -> None:
    print("ready", flush=True)
    while True:
        with DataTransaction(folder) as tx:
            n = file_version(tx.read_text(DATA_FILES[0])) + 1
            for name in DATA_FILES:
                tx.write_text(name, content(n, name))
            tx.append_text(CHANGELOG, json.dumps({"version": n}) + "\n")
        print(f"committed {n}", flush=True)


def counter_loop(folder: Path, count: int) -> None:
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(count):
        with DataTransaction(folder) as tx:
            n = int(tx.read_text("counter.txt", default="0"))
            time.sleep(0.001)  # widen the read-modify-write window
            tx.write_text("counter.txt", f"{n + 1}\n")
            tx.append_text("log.txt", f"{os.getpid()} {n + 1}\n")


if __name__ == "__main__":
    if sys.argv[1] == "kill":
        kill_loop(Path(sys.argv[2]))
    else:
        counter_loop(Path(sys.argv[2]), int(sys.argv[3]))
