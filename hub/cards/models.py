"""The cards table and the shapes of cards on the HTTP API.

One row per physical card, keyed by its canonical UID. A blank card in stock is a row with
status ``in_stock`` and no holder; issuing fills in the holder and makes it ``active``.
Every status change goes through hub.cards.lifecycle.next_status and, in the same
transaction, hub.gates.acl.card_changed (so the gates hear of it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.cards.rules import Particulars
from protocols.cards import CardStatus, CardType
from protocols.uid import normalise_uid

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    uid TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    card_type TEXT,
    holder_name TEXT,
    holder_unit TEXT,
    person_id INTEGER,  -- the holder in the people register, when known: their photo
    valid_from TEXT,
    valid_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    issued_at TEXT,
    issued_by TEXT
);
CREATE INDEX IF NOT EXISTS cards_status ON cards (status);
CREATE INDEX IF NOT EXISTS cards_unit ON cards (holder_unit);
CREATE INDEX IF NOT EXISTS cards_person ON cards (person_id);  -- whose cards were seen at a gate (photos)
-- the search box's cards by holder name (hub.people.registry) and a list by status in uid order
CREATE INDEX IF NOT EXISTS cards_holder_name ON cards (holder_name);
CREATE INDEX IF NOT EXISTS cards_status_uid ON cards (status, uid);
-- a printed number's card among 10-character UIDs (hub.cards.printed._candidates)
CREATE INDEX IF NOT EXISTS cards_uid_tail3 ON cards (substr(uid, 3)) WHERE length(uid) = 10;
CREATE INDEX IF NOT EXISTS cards_uid_tail5 ON cards (substr(uid, 5)) WHERE length(uid) = 10;
"""


class Holder(BaseModel):
    """Who holds the card, as printed on it and filed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="The holder's name as on their ID document "
                      "(with person_id: the person's name in the register).")
    unit: str = Field(min_length=1, max_length=64, description="The unit the card belongs to, building-floor-room "
                      "(A-12-03); with person_id: the person's own unit.")


class Deposit(BaseModel):
    """The deposit taken when the card is handed over (tenant, temporary and renovation
    worker cards); paid back against this receipt when the card comes back."""

    model_config = ConfigDict(extra="forbid")

    amount_cents: int = Field(gt=0, description="The deposit in fen (1/100 yuan), above 0.")
    receipt_no: str = Field(min_length=1, max_length=64, description="The number of the receipt given for this "
                            "deposit: unique (one receipt, one deposit); the refund (refund_deposit, or return with "
                            "refund) asks for it.")


class IssueCard(Particulars):
    """Body of POST /api/v1/cards: the public keys, then the optional per-type keys that
    hub.cards.rules.check_issue reads (documented there; it decides which a type needs)."""

    model_config = ConfigDict(extra="forbid")

    uid: str = Field(description="The card's UID as its reader gives it: hex; lower case and separators are "
                     "normalised to upper-case hex. A blank new to the hub, or a card of the same type in the drawer.")
    card_type: CardType = Field(description="The kind of pass: owner, resident (the owner's family), tenant, "
                                "domestic_helper, temporary, renovation_worker or staff. With person_id it must be "
                                "one the person's role may hold.")
    holder: Holder = Field(description="Who holds the card.")
    valid_from: AwareDatetime | None = Field(default=None, description="When the card starts to open gates "
                                             "(ISO 8601 with offset); null: at once.")
    valid_until: AwareDatetime | None = Field(default=None, description="When the card stops opening gates "
                                              "(ISO 8601 with offset); null: no end. Required for tenant, "
                                              "temporary and renovation worker cards.")
    person_id: int | None = Field(default=None, description="The holder in the people register. Given: the card "
                                  "type must fit the person's role, holder name and unit must be the person's own, "
                                  "and the tenancy, police registration, permit and employing household come from "
                                  "their record.")
    deposit: Deposit | None = Field(default=None, description="The deposit taken now: required for tenant, "
                                    "temporary and renovation worker cards, refused for the others.")
    company_letter_ref: str | None = Field(default=None, max_length=128, description="The reference of the "
                                           "company's letter: required when the unit is company-owned.")
    applicant: Literal["holder", "owner", "agent"] | None = Field(
        default=None, description="Who applies: the holder, the unit's owner, or an agent (who needs "
                                  "authorisation_ref).")
    authorisation_ref: str | None = Field(default=None, max_length=128, description="The reference of the "
                                          "owner's written authorisation, when an agent applies.")
    reason: str | None = Field(default=None, max_length=500, description="A note on the issue, kept on the "
                               "move and in the audit log. Optional.")

    @field_validator("uid", mode="before")
    @classmethod
    def _canonical_uid(cls, v: Any) -> str:
        return normalise_uid(v)

    @model_validator(mode="after")
    def _window(self) -> "IssueCard":
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class RevokeCard(BaseModel):
    """Optional body of POST /api/v1/cards/{uid}/revoke."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500, description="Why the card is revoked, kept on the "
                               "move and in the audit log. Optional.")


class HolderOut(BaseModel):
    name: str
    unit: str | None


class Card(BaseModel):
    uid: str
    status: CardStatus
    card_type: CardType | None
    holder: HolderOut | None
    valid_from: datetime | None
    valid_until: datetime | None
    issued_at: datetime | None
    updated_at: datetime


def card_from_row(row: dict[str, Any]) -> Card:
    holder = None
    if row.get("holder_name"):
        holder = HolderOut(name=row["holder_name"], unit=row.get("holder_unit"))
    return Card(
        uid=row["uid"],
        status=CardStatus(row["status"]),
        card_type=CardType(row["card_type"]) if row.get("card_type") else None,
        holder=holder,
        valid_from=row.get("valid_from"),
        valid_until=row.get("valid_until"),
        issued_at=row.get("issued_at"),
        updated_at=row["updated_at"],
    )
