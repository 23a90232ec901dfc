"""clinical-kg: a sourced clinical knowledge graph of causes, conditions, symptoms and treatments.

``clinical_kg.open()`` loads the graph for notebooks and programs (see :mod:`clinical_kg.api`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinical_kg.api import ClinicalKG

__version__ = "0.1.0"


def open(
    data_dir: str | Path | None = None, store_path: str | Path | None = None, store: str = "oxigraph"
) -> ClinicalKG:
    """The graph with the catalogue, SPARQL, lookup and validation (:func:`clinical_kg.api.open_clinical_kg`)."""
    from clinical_kg.api import open_clinical_kg

    return open_clinical_kg(data_dir=data_dir, store_path=store_path, store=store)
