"""The wheel ships the ontology, data and queries inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT, SOURCES


def test_wheel_ships_resources_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"clinical_kg/ontology/{p.relative_to(ROOT / 'ontology')}" for p in (ROOT / "ontology").rglob("*.ttl")}
    expected |= {f"clinical_kg/data/{p.name}" for p in (ROOT / "data").glob("*.ttl")}
    expected |= {f"clinical_kg/queries/{p.name}" for p in (ROOT / "queries").glob("*.rq")}
    assert expected - names == set()
    assert "clinical_kg/cli/__init__.py" in names
    assert {f"clinical_kg/web/{p.name}" for p in (ROOT / "src/clinical_kg/web").iterdir()} <= names  # the query page


def _installed_ckg(site: Path, cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``ckg`` as installed from the wheel, run in ``cwd`` with no CKG_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")} | {"PYTHONPATH": str(site)}
    command = [sys.executable, "-m", "clinical_kg.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_an_installed_package_never_changes_its_own_data(wheel_install: Path, tmp_path: Path) -> None:
    # issue 12, defect 2: after `pip install .`, `ckg add` wrote into site-packages/clinical_kg/data
    installed = wheel_install / "clinical_kg" / "data"
    before = {p.name: p.read_bytes() for p in installed.iterdir()}
    candidate = tmp_path / "candidate.ttl"
    candidate.write_text(
        "ckgid:cold-therapy ckg:relievesSymptomsOf ckgid:muscle-spasm .\n"
        "[] a ckg:Assertion ; rdf:subject ckgid:cold-therapy ; rdf:predicate ckg:relievesSymptomsOf ;\n"
        '   rdf:object ckgid:muscle-spasm ; ckg:evidenceQuote "Both therapies help to relax your muscles and ease '
        'the side effects of muscle spasms." ; ckg:source ckgsrc:how-to-help-muscle-spasms-in-lower-back .\n',
        encoding="utf-8",
    )
    refused = _installed_ckg(wheel_install, tmp_path, "add", candidate, "--sources-dir", SOURCES)
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[:2] == [
        f"adding to the installed copy in {installed} (read-only)",
        f"error: ckg add would change the installed copy of the data in {installed}, which a reinstall replaces",
    ]
    copy = Path(shutil.copytree(installed, tmp_path / "data"))
    added = _installed_ckg(wheel_install, tmp_path, "add", candidate, "--sources-dir", SOURCES, "--data-dir", copy)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Added 7 triples: 0 entities, 1 assertion record.")
    assert "muscle spasms." in (copy / "assertions-treatment.ttl").read_text(encoding="utf-8")
    assert {p.name: p.read_bytes() for p in installed.iterdir()} == before
    checked = _installed_ckg(wheel_install, tmp_path, "validate")
    assert checked.stderr.startswith(f"checking the installed copy in {installed} (read-only)\n")
