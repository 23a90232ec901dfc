"""The README is executable: its sessions run, and print what the README shows.

How the README is read (one mechanism for every section, so any example anyone adds is covered):

- a fenced block whose info string is ``console`` is a session: each ``$ `` line is a shell command
  (a line ending in ``\\`` continues on the next), and the lines up to the next ``$ `` are what it
  prints, stdout and stderr together, as a terminal shows them;
- a fenced block whose info string holds ``file=NAME`` (```` ```turtle file=candidate.ttl ````) is a
  file the reader saves: it is written before the sessions that follow it run;
- each ``## `` section runs in a fresh sandbox, ``<tmp>/curator/clinical-kg``: a copy of the
  checkout's ``data/`` with its ``pyproject.toml`` (so it is a checkout), ``../shared`` beside it
  (the source texts), and ``ckg`` running this code. The sandbox path is shown as
  ``/home/curator/clinical-kg``; tables are 100 columns wide (``COLUMNS=100``).

Outputs must match exactly (trailing spaces aside): a README example is a test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT, SOURCES

README = ROOT / "README.md"
SHOWN_HOME = "/home/curator"
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


@dataclass
class Command:
    """One ``$ `` line of a session and what the README shows it printing."""

    line: int
    text: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Step:
    """A file to write or a session to run, in README order."""

    line: int
    file: str | None = None
    content: str = ""
    commands: list[Command] = field(default_factory=list)


def _parse_session(content: str, first_line: int) -> list[Command]:
    commands: list[Command] = []
    lines = content.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            text, start = line[2:], i
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + "\n" + lines[i]
            commands.append(Command(first_line + start, text))
        elif commands:
            commands[-1].expected.append(line)
        i += 1
    return commands


def readme_sections() -> dict[str, list[Step]]:
    """The README's files and sessions, by ``## `` section, in order."""
    text = README.read_text(encoding="utf-8")
    sections: dict[str, list[Step]] = {}
    headings = [(m.start(), m.group(1)) for m in re.finditer(r"^## (.+)$", text, re.MULTILINE)]
    for match in _FENCE.finditer(text):
        info, content = match.group(1).split(), match.group(2)
        line = text.count("\n", 0, match.start()) + 2  # the first line inside the fence
        section = next((title for start, title in reversed(headings) if start < match.start()), "(top)")
        file = next((word[len("file=") :] for word in info if word.startswith("file=")), None)
        if file:
            sections.setdefault(section, []).append(Step(line, file=file, content=content))
        elif info[:1] == ["console"]:
            sections.setdefault(section, []).append(Step(line, commands=_parse_session(content, line)))
    return {title: steps for title, steps in sections.items() if any(s.commands for s in steps)}


SECTIONS = readme_sections()


def _sandbox(tmp_path: Path) -> Path:
    home = tmp_path / "curator"
    checkout = home / "clinical-kg"
    checkout.mkdir(parents=True)
    shutil.copytree(ROOT / "data", checkout / "data", ignore=shutil.ignore_patterns(".ckg*"))
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    (home / "shared").mkdir()
    (home / "shared" / "sources").symlink_to(SOURCES)
    return checkout


def _run(commands: list[Command], cwd: Path) -> list[list[str]]:
    """Run the commands in one shell, in order; return what each printed."""
    marker = "::ckg-readme-command::"
    script = [
        "exec 2>&1",
        f'ckg() {{ "{sys.executable}" -m clinical_kg.cli "$@"; }}',
        "export -f ckg",
    ]
    for command in commands:  # the marker keeps $? of the command before it, for `echo $?`
        script += [f"__status=$?; echo '{marker}'; (exit $__status)", command.text]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    env |= {"COLUMNS": "100", "LC_ALL": "C.UTF-8", "HOME": str(cwd.parent), "NO_COLOR": "1"}
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    shown = done.stdout.replace(str(cwd.parent), SHOWN_HOME)
    outputs = shown.split(marker + "\n")[1:]
    return [[line.rstrip() for line in out.splitlines()] for out in outputs]


def _strip(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_readme_sessions_print_what_the_readme_shows(section: str, tmp_path: Path) -> None:
    checkout = _sandbox(tmp_path)
    for step in SECTIONS[section]:
        if step.file:
            (checkout / step.file).write_text(step.content, encoding="utf-8")
            continue
        outputs = _run(step.commands, checkout)
        assert len(outputs) == len(step.commands), outputs
        for command, output in zip(step.commands, outputs, strict=True):
            assert _strip(output) == _strip(command.expected), f"README.md:{command.line}: $ {command.text}"


def test_the_curators_section_and_the_command_examples_are_sessions() -> None:
    curating = [s for s in SECTIONS if s.startswith("Curating")]
    assert curating and sum(len(s.commands) for s in SECTIONS[curating[0]]) >= 8
    assert "The command" in SECTIONS
    run = {
        name
        for steps in SECTIONS.values()
        for s in steps
        for c in s.commands
        for name in re.findall(r"ckg (\w+)", c.text)
    }
    table = re.findall(r"^\| `ckg (\w+)", README.read_text(encoding="utf-8"), re.MULTILINE)
    assert set(table) - {"serve"} <= run  # serve runs until stopped: its section shows it
