"""scripts/review_sample.py: a reproducible blind-review sample that shows no record history."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "review_sample.py"


def sample(seed: int, size: int = 30) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), "--seed", str(seed), "--size", str(size)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def test_the_same_seed_draws_the_same_records_and_another_seed_others() -> None:
    first = sample(7)
    assert first == sample(7)
    assert first != sample(8)
    assert len(re.findall(r"^## \d+\. ", first, re.MULTILINE)) == 30
    assert first.startswith("# Review sample: 30 assertion records, seed 7\n")


def test_each_record_shows_what_a_grader_needs_and_no_history() -> None:
    text = sample(7)
    sections = re.split(r"^## \d+\. ", text, flags=re.MULTILINE)[1:]
    for section in sections:
        assert "\n- relation: `ckg:" in section and "\n- hedge: " in section and "\n- source: " in section
        assert re.search(r"^> \S", section, re.MULTILINE), "the verbatim quote"
    assert "ckga:" not in text and "assertion/" not in text, "no record IRIs"
    assert not re.search(r"retract|changelog|replaced", text, re.IGNORECASE), "no record history"
