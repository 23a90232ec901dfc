"""The ``ckg`` command: a thin layer over the library.

Exit status: 0 success (or the graph conforms), 1 violations, 2 usage, input or query error.

The group, its shared options and error handling are in :mod:`~clinical_kg.cli.group`, which
imports a command's module when that command is run (``COMMAND_MODULES``); the
commands, by who uses them, in :mod:`~clinical_kg.cli.query` (queries, query, sparql, lookup,
stats), :mod:`~clinical_kg.cli.curate` (validate, add, retract), :mod:`~clinical_kg.cli.serve`
:mod:`~clinical_kg.cli.export` (export, release, load) and :mod:`~clinical_kg.cli.imports` (import).
"""

from clinical_kg.cli.group import main  # its commands' modules are imported when a command is asked for

__all__ = ["main"]
