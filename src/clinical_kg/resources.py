"""Where the ontology, the curated data, the queries and the source texts are.

The vocabulary, shapes and queries are those of the code that runs: the wheel ships them inside
the package (``clinical_kg/ontology`` etc., see pyproject's force-include); in a source checkout
they are the top-level folders of the repository.

The curated data folder is found by one rule (:func:`locate_data`), the first that applies:

1. the folder given explicitly (``--data-dir``);
2. ``$CKG_DATA_DIR``;
3. the ``data/`` folder of the clinical-kg checkout that the current folder is inside: the
   nearest folder at or above it holding both a ``pyproject.toml`` whose ``[project]`` name is
   ``clinical-kg`` and a ``data/`` folder;
4. the copy installed with the package, which is read-only: ``ckg add`` and ``ckg retract``
   refuse to write into it (a reinstall would silently undo the edit).

The source texts that evidence quotes are checked against are found in one folder
(:func:`locate_sources`): the one given (``--sources-dir``), else ``$CKG_SOURCES_DIR``, else the
``sources/`` folder beside the data folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_ROOT = _PACKAGE_DIR.parent.parent
PROJECT_NAME = "clinical-kg"


def _resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / name, _CHECKOUT_ROOT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"clinical-kg resource folder {name!r} is missing from the installation")


def ontology_dir() -> Path:
    """The folder holding the vocabulary, the prefix map and ``shapes/``."""
    return _resource_dir("ontology")


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


@dataclass(frozen=True)
class DataLocation:
    """The curated data folder in use, how it was found, and whether it may be written."""

    path: Path
    found_by: str  # "--data-dir", "CKG_DATA_DIR", "checkout" or "installed"
    read_only: bool = False

    def describe(self) -> str:
        """For people: "data/ in /path/to/checkout", "/x/data (CKG_DATA_DIR)", ..."""
        if self.found_by == "checkout":
            return f"data/ in {self.path.parent}"
        if self.found_by == "installed":
            if self.read_only:
                return f"the installed copy in {self.path} (read-only)"
            return f"data/ in {self.path.parent} (the checkout the package is installed from)"
        return f"{self.path} ({self.found_by})"


def find_checkout(start: Path | None = None) -> Path | None:
    """The clinical-kg checkout that ``start`` (default: the current folder) is inside, or None.

    That is the nearest folder at or above ``start`` holding a ``data/`` folder and a
    ``pyproject.toml`` whose ``[project]`` name is ``clinical-kg``.
    """
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and (candidate / "data").is_dir():
            import tomllib  # only where a folder looks like a checkout

            try:
                name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if name == PROJECT_NAME:
                return candidate
    return None


def locate_data(explicit: str | os.PathLike[str] | None = None) -> DataLocation:
    """The curated data folder by the rule in this module's docstring."""
    if explicit is not None:
        return DataLocation(Path(explicit).absolute(), "--data-dir")
    override = os.environ.get("CKG_DATA_DIR")
    if override:
        return DataLocation(Path(override).absolute(), "CKG_DATA_DIR")
    checkout = find_checkout()
    if checkout is not None:
        return DataLocation(checkout / "data", "checkout")
    shipped = _resource_dir("data")
    return DataLocation(shipped, "installed", read_only=is_installed_copy(shipped))


def is_installed_copy(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` is the data folder inside the installed package (``site-packages``)."""
    return Path(folder).resolve() == _PACKAGE_DIR / "data"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The curated data folder: ``explicit``, else by the rule of :func:`locate_data`."""
    return locate_data(explicit).path


def data_files(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The curated data files (``*.ttl``) of ``folder`` (default: :func:`data_dir`), sorted.

    One clear error if the folder is missing or not a folder, or a file is not a regular file
    (a FIFO would make every reader wait for ever).
    """
    from clinical_kg.errors import InputError
    from clinical_kg.transaction import check_folder

    path = data_dir(folder)
    check_folder(path)
    files = sorted(path.glob("*.ttl"))
    for file in files:
        if not file.is_file():
            raise InputError(f"{file} is not a regular file", hint="move it out of the data folder")
    return files


def shipped_files(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The vocabulary and every curated data file of ``folder`` (default: the folder found by
    :func:`locate_data`): what ``clinical_kg.store.open_graph`` loads by default."""
    return [vocabulary_file(), *data_files(folder)]


def curated_files(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """:func:`shipped_files`, after finishing a merge into the data folder that was interrupted."""
    from clinical_kg.transaction import ensure_consistent

    ensure_consistent(data_dir(folder))
    return shipped_files(folder)


@dataclass(frozen=True)
class SourcesLocation:
    """The folder of source texts in use, and how it was found."""

    path: Path
    found_by: str  # "--sources-dir", "CKG_SOURCES_DIR" or "beside the data"

    def describe(self) -> str:
        """For people: "/x/sources (--sources-dir)"."""
        return f"{self.path} ({self.found_by})"


def locate_sources(explicit: str | os.PathLike[str] | None = None, data: Path | None = None) -> SourcesLocation:
    """The folder of source texts: ``explicit``, else ``$CKG_SOURCES_DIR``, else ``sources/`` beside
    the data folder ``data`` (default: :func:`data_dir`). The folder may not exist."""
    if explicit is not None:
        return SourcesLocation(Path(explicit).absolute(), "--sources-dir")
    override = os.environ.get("CKG_SOURCES_DIR")
    if override:
        return SourcesLocation(Path(override).absolute(), "CKG_SOURCES_DIR")
    return SourcesLocation((data or data_dir()).absolute().parent / "sources", "beside the data")
