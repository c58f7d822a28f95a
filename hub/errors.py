"""Domain errors. Services raise these; hub.app maps them to HTTP in one place.

Each carries a ``rule``: a short stable name of what was refused ("lost_card_final",
"deposit_already_refunded"), so a client or a test can tell refusals apart without
parsing prose.
"""

from __future__ import annotations

from typing import Callable


class Word(str):
    """A fixed English word given as a detail's value (a card's status, a move): its msgid is
    marked with ``N_`` where the word is defined, and ``in_language`` translates it with the
    template, so "a card that is lost" reads 「已挂失」 to a Chinese reader."""


class DomainError(Exception):
    """``detail`` is an English message for a person; with ``params`` it is a template
    (``"no schedule {name}"``, name=...) that hub.i18n translates before filling in, so the
    reader gets it in their language. The ``rule`` stays English: it is for programs."""

    status = 400
    rule = "bad_request"

    def __init__(self, detail: str, rule: str | None = None, field: str | None = None, **params: object) -> None:
        self.template = detail
        self.params = params
        self.detail = detail.format(**params) if params else detail
        super().__init__(self.detail)
        if rule:
            self.rule = rule
        self.field = field

    def in_language(self, gettext: Callable[[str], str]) -> str:
        """The detail through ``gettext`` (the English one if its translation does not fit)."""
        text = gettext(self.template)
        if not self.params:
            return text
        params = {k: gettext(v) if isinstance(v, Word) else v for k, v in self.params.items()}
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return self.detail


class BadInput(DomainError):
    status = 422
    rule = "bad_input"


class NotFound(DomainError):
    status = 404
    rule = "not_found"


class Conflict(DomainError):
    status = 409
    rule = "conflict"


class RuleViolation(DomainError):
    """A move the estate's procedures forbid (a lost card re-activated, a deposit refunded twice)."""

    status = 422
    rule = "rule_violation"


class Forbidden(DomainError):
    status = 403
    rule = "forbidden"


class Unauthenticated(DomainError):
    status = 401
    rule = "unauthenticated"


class TooLarge(DomainError):
    """A request body over its route's cap: refused before (or as soon as) it is read."""

    status = 413
    rule = "body_too_large"


class LockedOut(DomainError):
    """Too many failed sign-ins for one account: refused until the window has passed."""

    status = 429
    rule = "account_locked"
