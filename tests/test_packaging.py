"""The wheel ships the ontology, data and queries inside the package."""

from __future__ import annotations

import hashlib
import json
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
    web = ROOT / "src" / "clinical_kg" / "web"
    assert {f"clinical_kg/web/{p.relative_to(web).as_posix()}" for p in web.rglob("*") if p.is_file()} <= names


def test_the_query_editor_ships_in_the_wheel_with_its_licences(wheel: Path) -> None:
    """YASGUI (vendored by scripts/vendor_yasgui.py) is in the wheel as recorded, with its licence and notices."""
    archive = zipfile.ZipFile(wheel)
    folder = "clinical_kg/web/vendor/yasgui/"
    record = json.loads(archive.read(folder + "VERSION.json"))
    assert record["package"] == "@zazuko/yasgui" and set(record["files"]) == {
        "LICENSE", "THIRD-PARTY-NOTICES.txt", "yasgui.min.css", "yasgui.min.js"
    }  # fmt: skip
    for name, digest in record["files"].items():
        assert hashlib.sha256(archive.read(folder + name)).hexdigest() == digest, name
    assert "The MIT License" in archive.read(folder + "LICENSE").decode()
    notices = archive.read(folder + "THIRD-PARTY-NOTICES.txt").decode()
    assert all(f"\n{package} " in "\n" + notices for package in ("codemirror", "dompurify", "@zazuko/yasqe"))
    sizes = {name: archive.getinfo(folder + name).file_size for name in ("yasgui.min.js", "yasgui.min.css")}
    assert sizes["yasgui.min.js"] < 1_200_000 and sizes["yasgui.min.css"] < 100_000, sizes  # measured 1,012,271
    assert b"sourceMappingURL" not in archive.read(folder + "yasgui.min.js")  # no map to fetch


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
