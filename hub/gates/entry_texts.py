"""Cards' entry texts, as ``canonical_json(project(...))`` gives them, at a fraction of the cost.

Building a gate's list of 100,000 cards through the models (an AclEntry per card and gate,
validated, dumped and encoded) took 5 s; the rows themselves insert in a fraction of that.
Cards fall into a handful of shapes: the same status, card type and levels give the same
entry at a gate but for the last three keys in canonical (sorted) order, ``uid``,
``valid_from`` and ``valid_until``. So the first card of each shape goes through
``hub.gates.acl.project`` (where the access rules live, and only there), its text is split
before ``"uid":`` and checked to come back whole from the parts; every other card of that
shape is that prefix plus its own three values. A date is converted through the model once
per distinct value. A card whose UID is not already canonical goes through the models.

Texts are the LISTED form (protocols.acl.listed): an entry names its schedule by id. Every
schedule a text here names is remembered (``schedule_of``: content-addressed, so never
stale), and whoever stores texts stores the schedules they name (``named_ids``) with them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

from hub.access.plan import AccessPlan
from protocols.acl import AclEntry, Schedule, canonical_json, listed
from protocols.cards import CardStatus

#: a UID exactly as protocols.uid.normalise_uid returns it (upper-case hex, whole bytes, 1-16)
_CANONICAL_UID = re.compile(r"(?:[0-9A-F]{2}){1,16}")

_IN_STOCK = CardStatus.IN_STOCK.value

Project = Callable[[dict[str, Any], list[str], AccessPlan], dict[str, AclEntry]]


#: every schedule a listed text made in this process names, by id: content-addressed, so
#: never stale; never dropped either, since the shapes' templates (_TEMPLATES, kept between
#: steps and stores) name schedules without listing them again. An estate has dozens (each
#: holiday edit adds a few)
_SCHEDULES: dict[str, Schedule] = {}
#: how a listed text names its schedule (canonical JSON: no spaces; ids are lower hex)
_SCHEDULE_REF = re.compile(r'"schedule":"([0-9a-f]{32})"')


def listed_text(entry: AclEntry) -> str:
    """The entry's canonical JSON in the listed form, its schedule remembered by id."""
    entry, schedule = listed(entry)
    if schedule is not None:
        _SCHEDULES.setdefault(entry.schedule, schedule)  # type: ignore[arg-type]
    return canonical_json(entry).decode()


def named_ids(texts: Iterable[str]) -> set[str]:
    """The schedule ids these listed texts name (an entry stored whole names none)."""
    ids: set[str] = set()
    for text in texts:
        found = _SCHEDULE_REF.search(text)
        if found:
            ids.add(found.group(1))
    return ids


def schedule_of(sid: str) -> Schedule | None:
    """A schedule this process has listed or loaded, by id."""
    return _SCHEDULES.get(sid)


def remember(sid: str, schedule: Schedule) -> None:
    """Keep a schedule read back from the hub's own table (hub.gates.acl), which only ever
    holds what ``listed_text`` remembered."""
    _SCHEDULES.setdefault(sid, schedule)


class TemplateMismatch(AssertionError):
    """A shape's parts did not give back the model's text: the entry's keys changed order."""


class EntryTexts:
    def __init__(self, plan: AccessPlan, gates: list[str], project: Project) -> None:
        self.plan = plan
        self.gates = gates
        self._project = project
        self._prefixes = _templates(plan, gates)

    def of(self, card: dict[str, Any]) -> dict[str, str]:
        """Per gate of ``gates`` listing the card (a ``cards`` row), its entry's canonical JSON text."""
        return self.of_fields(card["uid"], card["status"], card.get("card_type"), card.get("valid_from"),
                              card.get("valid_until"))

    def of_fields(self, uid: str, status: str, ctype: str | None, valid_from: Any, valid_until: Any) -> dict[str, str]:
        """``of`` for the only columns of the row an entry depends on (a bare cursor's tuple)."""
        if status == _IN_STOCK or not ctype:
            return {}
        if not _CANONICAL_UID.fullmatch(uid):
            card = {"uid": uid, "status": status, "card_type": ctype, "valid_from": valid_from,
                    "valid_until": valid_until}
            return self._by_models(card)
        shape = (status, ctype, self.plan.levels_of(uid, ctype))
        prefixes = self._prefixes.get(shape)
        if prefixes is None:
            return self._learn(shape, {"uid": uid, "status": status, "card_type": ctype, "valid_from": valid_from,
                                       "valid_until": valid_until})
        tail = f'"uid":"{uid}","valid_from":{self._date(valid_from)},"valid_until":{self._date(valid_until)}}}'
        return {gate_id: prefix + tail for gate_id, prefix in prefixes.items()}

    def _by_models(self, card: dict[str, Any]) -> dict[str, str]:
        return {g: listed_text(e) for g, e in self._project(card, self.gates, self.plan).items()}

    def _learn(self, shape: tuple[str, str, tuple[str, ...]], card: dict[str, Any]) -> dict[str, str]:
        texts = self._by_models(card)
        prefixes: dict[str, str] = {}
        for gate_id, text in texts.items():
            prefix, found, _ = text.rpartition('"uid":')
            if not found:
                raise TemplateMismatch(f"no uid key in {text!r}")
            prefixes[gate_id] = prefix
        self._prefixes[shape] = prefixes
        again = self.of(card)
        if again != texts:
            del self._prefixes[shape]
            raise TemplateMismatch(f"{again!r} != {texts!r}")
        return texts

    def _date(self, raw: Any) -> str:
        if raw is None:
            return "null"
        text = _DATES.get(raw)
        if text is None:
            probe = AclEntry(uid="00", status=CardStatus.ACTIVE, card_type="owner", valid_until=raw)
            text = json.dumps(probe.model_dump(mode="json")["valid_until"], ensure_ascii=False)
            if len(_DATES) >= _DATES_KEPT:
                _DATES.clear()
            _DATES[raw] = text
        return text


#: shapes' prefixes per (gates, access rules), kept between the steps of a job: a job's
#: hundreds of steps would otherwise learn the same few dozen shapes each time
_TEMPLATES: dict[tuple[Any, ...], dict[tuple[str, str, tuple[str, ...]], dict[str, str]]] = {}
_TEMPLATES_KEPT = 8


def _templates(plan: AccessPlan, gates: list[str]) -> dict[tuple[str, str, tuple[str, ...]], dict[str, str]]:
    """The prefixes learnt under exactly these rules (a shape names its levels; what the
    levels give, schedules and holidays resolved, is in the key in full: any change to a
    rule is another key, never a stale template)."""
    key = (tuple(gates), tuple(sorted((name, repr(rule)) for name, rule in plan.levels.items())))
    found = _TEMPLATES.get(key)
    if found is None:
        if len(_TEMPLATES) >= _TEMPLATES_KEPT:
            _TEMPLATES.clear()
        found = _TEMPLATES[key] = {}
    return found


#: a stored validity time's text in an entry: it depends on nothing but the time, so it is
#: kept between builds and steps (an estate has a few thousand distinct ones)
_DATES: dict[Any, str] = {}
_DATES_KEPT = 200_000
