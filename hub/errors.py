"""Domain errors. Services raise these; hub.app maps them to HTTP in one place.

Each carries a ``rule``: a short stable name of what was refused ("lost_card_final",
"deposit_already_refunded"), so a client or a test can tell refusals apart without
parsing prose.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    rule = "bad_request"

    def __init__(self, detail: str, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if rule:
            self.rule = rule
        self.field = field


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
