"""Vendor the YASGUI SPARQL editor (``@zazuko/yasgui`` from npm) into src/clinical_kg/web/vendor/yasgui/.

Usage: python scripts/vendor_yasgui.py [--version 4.6.2]

Installs the package with npm into a temporary folder (``npm install --omit=dev --ignore-scripts``)
and copies its built assets, ``yasgui.min.js`` (which bundles YASQE, the editor, and YASR, the
results) and ``yasgui.min.css``, without the source-map comment (the maps are not shipped). Writes
beside them ``LICENSE`` (YASGUI's MIT licence, which the npm package leaves out), ``THIRD-PARTY-NOTICES.txt``
(the name, version, licence and licence text of every package npm installed with it: the bundle
holds their code) and ``VERSION.json`` (version, npm integrity, SHA-256 of each file). The page
loads them from ``/static/vendor/yasgui/``: nothing is fetched from a CDN at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "clinical_kg" / "web" / "vendor" / "yasgui"
ASSETS = ("yasgui.min.js", "yasgui.min.css")
# The LICENSE file of https://github.com/zazuko/Yasgui (the npm package ships none).
YASGUI_LICENSE = """YASGUI (@zazuko/yasgui, with @zazuko/yasqe, @zazuko/yasr and @zazuko/yasgui-utils)
Copyright Triply B.V. and Zazuko GmbH (the authors named in the package)
https://github.com/zazuko/Yasgui

The MIT License (MIT)

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
"""


def notices(modules: Path) -> str:
    """Every installed package's name, version, licence and licence file, sorted by name."""
    parts = []
    for manifest in sorted(modules.glob("**/package.json")):
        folder = manifest.parent
        if folder.parent.name != "node_modules" and folder.parent.parent.name != "node_modules":
            continue  # a package.json inside a package (tests, examples), not a package
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if "name" not in data or "version" not in data:
            continue
        licence = data.get("license") or data.get("licenses") or "see the licence text"
        texts = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().startswith(("licen", "copying")))
        body = "\n".join(p.read_text(encoding="utf-8", errors="replace").strip() for p in texts)
        parts.append(f"{data['name']} {data['version']} ({licence})\n\n{body or '(no licence file in the package)'}\n")
    return ("\n" + "=" * 78 + "\n\n").join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="4.6.2", help="the @zazuko/yasgui version (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "package.json").write_text('{"name": "vendor", "version": "0.0.0", "private": true}\n')
        subprocess.run(
            ["npm", "install", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund",
             f"@zazuko/yasgui@{args.version}"],
            cwd=folder, check=True,
        )  # fmt: skip
        lock = json.loads((folder / "package-lock.json").read_text(encoding="utf-8"))
        build = folder / "node_modules" / "@zazuko" / "yasgui" / "build"
        shutil.rmtree(TARGET, ignore_errors=True)
        TARGET.mkdir(parents=True)
        for name in ASSETS:
            text = (build / name).read_text(encoding="utf-8")
            lines = [
                line
                for line in text.splitlines()
                if not line.startswith(("//# sourceMappingURL=", "/*# sourceMappingURL="))
            ]
            (TARGET / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (TARGET / "LICENSE").write_text(YASGUI_LICENSE, encoding="utf-8")
        (TARGET / "THIRD-PARTY-NOTICES.txt").write_text(notices(folder / "node_modules"), encoding="utf-8")
        record = {
            "package": "@zazuko/yasgui",
            "version": args.version,
            "integrity": lock["packages"]["node_modules/@zazuko/yasgui"]["integrity"],
            "generated": "by scripts/vendor_yasgui.py; do not edit",
            "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(TARGET.iterdir())},
        }
        (TARGET / "VERSION.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
