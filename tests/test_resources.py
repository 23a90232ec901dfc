"""Where the data is: one rule, --data-dir, else $CKG_DATA_DIR, else the checkout's data/, else the installed copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinical_kg import resources


def _checkout(root: Path, name: str = "clinical-kg") -> Path:
    (root / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n', encoding="utf-8")
    return root


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("CKG_DATA_DIR", raising=False)
    monkeypatch.delenv("CKG_SOURCES_DIR", raising=False)
    return monkeypatch


def test_the_checkout_the_current_folder_is_inside_gives_its_data(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    checkout = _checkout(tmp_path / "work")
    (checkout / "notes" / "deep").mkdir(parents=True)
    no_env.chdir(checkout / "notes" / "deep")
    found = resources.locate_data()
    assert (found.path, found.found_by, found.read_only) == (checkout.resolve() / "data", "checkout", False)
    assert found.describe() == f"data/ in {checkout.resolve()}"
    sources = resources.locate_sources()
    assert (sources.path, sources.found_by) == (checkout.resolve() / "sources", "beside the data")


def test_a_folder_of_another_project_is_not_a_checkout(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    other = _checkout(tmp_path / "other", name="not-clinical-kg")
    no_env.chdir(other)
    assert resources.find_checkout() is None
    found = resources.locate_data()
    assert found.found_by == "installed"
    assert found.path == resources._resource_dir("data")


def test_the_flag_wins_over_the_environment_which_wins_over_the_checkout(
    tmp_path: Path, no_env: pytest.MonkeyPatch
) -> None:
    no_env.chdir(_checkout(tmp_path / "work"))
    no_env.setenv("CKG_DATA_DIR", str(tmp_path / "env-data"))
    no_env.setenv("CKG_SOURCES_DIR", str(tmp_path / "env-sources"))
    assert resources.locate_data() == resources.DataLocation(tmp_path / "env-data", "CKG_DATA_DIR")
    assert resources.locate_data(tmp_path / "flag") == resources.DataLocation(tmp_path / "flag", "--data-dir")
    assert resources.locate_sources().path == tmp_path / "env-sources"
    assert resources.locate_sources(tmp_path / "s").describe() == f"{tmp_path / 's'} (--sources-dir)"


def test_the_installed_copy_is_read_only_only_inside_an_installed_package(no_env: pytest.MonkeyPatch) -> None:
    no_env.chdir("/")
    found = resources.locate_data()
    assert found.found_by == "installed"
    assert found.read_only == (found.path == Path(resources.__file__).resolve().parent / "data")
