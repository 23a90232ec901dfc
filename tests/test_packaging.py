"""The wheel ships the ontology, data and queries inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_ships_resources_inside_the_package(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    (wheel,) = tmp_path.glob("clinical_kg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"clinical_kg/ontology/{p.relative_to(ROOT / 'ontology')}" for p in (ROOT / "ontology").rglob("*.ttl")}
    expected |= {f"clinical_kg/data/{p.name}" for p in (ROOT / "data").glob("*.ttl")}
    expected |= {f"clinical_kg/queries/{p.name}" for p in (ROOT / "queries").glob("*.rq")}
    assert expected - names == set()
    assert "clinical_kg/cli/__init__.py" in names
    assert {f"clinical_kg/web/{p.name}" for p in (ROOT / "src/clinical_kg/web").iterdir()} <= names  # the query page
