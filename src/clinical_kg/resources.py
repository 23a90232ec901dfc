"""Where the shipped ontology, data and queries are.

The wheel ships them inside the package (``clinical_kg/ontology`` etc., see pyproject's
force-include); in a source checkout they are the top-level folders of the repository. Nothing
is looked up relative to the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_ROOT = _PACKAGE_DIR.parent.parent


def _resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / name, _CHECKOUT_ROOT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"clinical-kg resource folder {name!r} is missing from the installation")


def ontology_dir() -> Path:
    """The folder holding the vocabulary, the prefix map and ``shapes/``."""
    return _resource_dir("ontology")


def data_dir() -> Path:
    """The folder holding the curated Turtle files: ``$CKG_DATA_DIR`` if set, else the shipped one."""
    override = os.environ.get("CKG_DATA_DIR")
    return Path(override) if override else _resource_dir("data")


def queries_dir() -> Path:
    """The folder holding the query catalogue (``*.rq``)."""
    return _resource_dir("queries")


def vocabulary_file() -> Path:
    """The OWL vocabulary file."""
    return ontology_dir() / "clinical-kg.ttl"


def prefixes_file() -> Path:
    """The one prefix map every file uses."""
    return ontology_dir() / "prefixes.ttl"


def shape_files() -> list[Path]:
    """The SHACL shape files, sorted."""
    return sorted((ontology_dir() / "shapes").glob("*.ttl"))


def data_files() -> list[Path]:
    """The curated data files, sorted."""
    return sorted(data_dir().glob("*.ttl"))
