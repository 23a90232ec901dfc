"""Time ``ckg`` commands end to end on the shipped graph, against the raw-pyoxigraph floor.

Usage: python scripts/bench_cli.py [--runs N] [--before SRC] [--json PATH]

Each command runs as a new process, as a user runs it (``ckg ARGS`` from a folder outside the
checkout), and so does ``scripts/floor.py``: the shipped graph loaded into raw pyoxigraph and
the headline query's final text (its parameter bound) run once, nothing else. The runs are
paired and alternated: in each round the floor and every tree run each command once, in an
order that rotates from round to round, so that load on the machine falls on all of them
alike. Reported: the median CPU time (user + system, of the process and its children) and
wall time, and the ratio of the CPU medians to the floor's. ``--before SRC`` times a second
source tree (for example a worktree of an older commit: ``--before ../old/src``) in the same
rounds, for a before/after table. ``scripts/bench.py`` prints this table too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HEADLINE = ("conditions-causing-symptom", {"symptom": ["radiating leg pain"]})
COMMANDS: list[tuple[str, list[str]]] = [
    ("ckg --help", ["--help"]),
    ("ckg queries", ["queries"]),
    ("ckg lookup sciatica", ["lookup", "sciatica"]),
    ("ckg query (headline)", ["query", "conditions-causing-symptom", "--param", "symptom=radiating leg pain"]),
    ("ckg stats", ["stats"]),
    ("ckg validate", ["validate"]),
    ("ckg export --format turtle", ["export", "--format", "turtle", "--out", "clinical-kg.ttl"]),
]
_CKG = "import sys; sys.argv[0] = 'ckg'; from clinical_kg.cli import main; sys.exit(main())"


def run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """CPU seconds (user + system, the process and its children) and wall seconds of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode not in (0, 1):  # 1: `ckg validate` found violations, still a full run
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {stderr}")
    return usage.ru_utime + usage.ru_stime, wall


def floor_command(folder: Path) -> list[str]:
    """The floor script's command: the headline's final query text over the shipped files."""
    sys.path.insert(0, str(ROOT / "src"))
    from clinical_kg.catalogue import bind_parameters, get_query
    from clinical_kg.resources import shipped_files
    from clinical_kg.store import open_graph
    from clinical_kg.terms import TermIndex

    name, values = HEADLINE
    text, _ = bind_parameters(get_query(name), values, TermIndex(open_graph()))
    query = folder / "headline.rq"
    query.write_text(text, encoding="utf-8")
    return [sys.executable, str(ROOT / "scripts" / "floor.py"), str(query), *map(str, shipped_files())]


def measure(runs: int, trees: dict[str, Path]) -> list[dict[str, Any]]:
    """Paired, alternated runs of the floor and of each command in each tree; one record per (command, tree)."""
    records = []
    with tempfile.TemporaryDirectory(prefix="ckg-bench-cli-") as name:
        folder = Path(name)
        floor = floor_command(folder)
        # as installed: with bytecode (pip compiles it; PYTHONDONTWRITEBYTECODE would make every run compile)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CKG_") and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}  # fmt: skip
        for label, args in COMMANDS:
            jobs = {"floor": (floor, env)}
            for tree, src in trees.items():
                jobs[tree] = ([sys.executable, "-c", _CKG, *args], {**env, "PYTHONPATH": str(src)})
            for command, job_env in jobs.values():
                run(command, job_env, folder)  # warm-up: bytecode and file caches
            times: dict[str, list[tuple[float, float]]] = {job: [] for job in jobs}
            order = list(jobs)
            for round_ in range(runs):
                for job in order[round_ % len(order) :] + order[: round_ % len(order)]:
                    times[job].append(run(*jobs[job], folder))
            floor_cpu = statistics.median(cpu for cpu, _ in times["floor"])
            for job, samples in times.items():
                cpu = statistics.median(c for c, _ in samples)
                records.append({"command": label, "tree": job, "cpu_s": round(cpu, 4), "runs": runs,
                                "wall_s": round(statistics.median(w for _, w in samples), 4),
                                "ratio": round(cpu / floor_cpu, 2)})  # fmt: skip
            print(f"  {label}: " + ", ".join(f"{r['tree']} {r['cpu_s']:.3f} s" for r in records[-len(jobs) :]),
                  file=sys.stderr, flush=True)  # fmt: skip
    return records


def table(records: list[dict[str, Any]]) -> str:
    """Markdown: one row per command, CPU seconds and the ratio to the floor for each tree."""
    trees = [t for t in dict.fromkeys(r["tree"] for r in records) if t != "floor"]
    by_command: dict[str, dict[str, dict[str, Any]]] = {}
    for r in records:
        by_command.setdefault(r["command"], {})[r["tree"]] = r
    head = "| command | floor CPU s | " + " | ".join(f"{t} CPU s | {t} / floor | {t} wall s" for t in trees) + " |\n"
    head += "|---|---:|" + "---:|---:|---:|" * len(trees) + "\n"
    lines = []
    for command, cells in by_command.items():
        shown = " | ".join(
            f"{cells[t]['cpu_s']:.3f} | {cells[t]['ratio']:.1f}x | {cells[t]['wall_s']:.3f}" for t in trees
        )
        lines.append(f"| {command} | {cells['floor']['cpu_s']:.3f} | {shown} |")
    return head + "\n".join(lines) + "\n"


def source_trees(before: Path | None) -> dict[str, Path]:
    """The trees to time: this checkout's ``src`` ("after") and, if given, ``before`` (another ``src``)."""
    return {"after": ROOT / "src"} if before is None else {"before": before.resolve(), "after": ROOT / "src"}


def report(records: list[dict[str, Any]], text: str, json_path: Path | None) -> None:
    """Write the records as JSON to ``json_path`` (if given); print the load average and ``text``, the table."""
    if json_path:
        json_path.write_text(json.dumps(records, indent=1) + "\n")
    print(f"load average after the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(text)


def main() -> None:
    example = "Example: python scripts/bench_cli.py --runs 9 --before ../old/src"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=example)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command in each tree (default 7)")
    parser.add_argument("--before", type=Path, default=None, help="a second source tree to time in the same rounds")
    parser.add_argument("--json", type=Path, default=None, help="write the records as JSON to this file")
    args = parser.parse_args()
    records = measure(args.runs, source_trees(args.before))
    report(records, table(records), args.json)


if __name__ == "__main__":
    main()
