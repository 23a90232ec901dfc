"""Typed domain errors; the command line turns each into one clear message and exit status."""

from __future__ import annotations


class ClinicalKGError(Exception):
    """Base of every error the user can act on. `hint` says how to fix it."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class InputError(ClinicalKGError):
    """A file or value given by the user cannot be read or parsed."""


class UnknownTermError(ClinicalKGError):
    """A parameter value matches no label, synonym, CURIE or IRI in the graph."""


class AmbiguousTermError(ClinicalKGError):
    """A parameter value matches several entities."""


class QueryError(ClinicalKGError):
    """A query is malformed, refused (for example SERVICE) or given wrong parameters."""


class TermTypeError(ClinicalKGError):
    """A parameter value names an entity of the wrong kind (a symptom where a condition is asked).

    ``entity`` is the entity it names, so the caller can point to the questions that take it;
    ``similar`` is true when the hint names entities of the right kind.
    """

    def __init__(self, message: str, hint: str | None = None, entity: object = None, similar: bool = False) -> None:
        super().__init__(message, hint)
        self.entity = entity
        self.similar = similar
