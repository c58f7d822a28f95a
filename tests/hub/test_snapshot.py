"""A gate's whole list served from the stored canonical entry texts, off the MQTT thread:
the signed bytes are exactly the model path's, the gate accepts them unchanged, and the
chunks are built and sent by the snapshot thread, not the MQTT intake thread."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timezone

import httpx
import pytest

from gate_agent.acl_store import AclStore, Applied
from hub.gates import acl
from protocols.acl import AclEntry, Schedule, TimeWindow, canonical_json, checksum_of
from protocols.messages import AclUpdate, SyncRequest, parse
from protocols.signing import BadSignature, mac, new_key, sign, signed_with_texts, verify
from protocols.topics import gate_topic

SITE = "estate"


def _entries() -> list[AclEntry]:
    night = Schedule(timezone="Asia/Shanghai", windows=(TimeWindow(days=(0, 4), start=time(22), end=time(6)),),
                     holidays=(date(2031, 10, 1), date(2031, 10, 2)),
                     holiday_windows=(TimeWindow(start=time(9), end=time(12)),))
    return [
        AclEntry(uid="0A0012AB34", status="active", card_type="owner"),
        AclEntry(uid="0B0012AB35", status="revoked", card_type="tenant",
                 valid_from=datetime(2026, 1, 1, tzinfo=timezone.utc),
                 valid_until=datetime(2027, 6, 30, 23, 59, 59, 123000, tzinfo=timezone.utc)),
        AclEntry(uid="0C0012AB36", status="active", card_type="renovation_worker", doors=("north-in", "north-out"),
                 schedule=night, anti_passback=True),
    ]


@pytest.mark.parametrize("upserts", [3, 1, 0])
def test_signing_the_stored_texts_gives_the_model_paths_bytes_and_signature(upserts: int) -> None:
    key = new_key()
    entries = _entries()[:upserts]
    model = AclUpdate(gate_id="north", kind="snapshot", rev=42, checksum=checksum_of(entries),
                      upserts=tuple(entries), snapshot_id="s1", chunk=0, chunks=1)
    bare = model.model_copy(update={"upserts": ()})
    texts = [canonical_json(e).decode() for e in entries]  # what acl_state holds

    wire = signed_with_texts(bare, "upserts", texts, key, SITE, "acl")

    by_model = sign(model, key, SITE, "acl")
    got = parse(AclUpdate, wire)
    assert got == by_model  # the same message, its sig included
    assert canonical_json(got, exclude={"sig"}) == canonical_json(model, exclude={"sig"})
    assert wire.startswith(canonical_json(model, exclude={"sig"})[:-1])  # the signed bytes, as they are
    assert got.sig == mac(model, key, SITE, "north", "acl")
    assert verify(got, [key], SITE, "acl", "north") == 0
    with pytest.raises(BadSignature):
        verify(parse(AclUpdate, signed_with_texts(bare, "upserts", texts, key, SITE, "cmd")), [key], SITE, "acl")


def test_only_an_empty_list_is_filled() -> None:
    model = AclUpdate(gate_id="north", kind="snapshot", rev=1, checksum="0" * 64, upserts=(_entries()[0],),
                      snapshot_id="s1")
    with pytest.raises(ValueError):
        signed_with_texts(model, "upserts", [], new_key(), SITE, "acl")


def test_a_gate_applies_the_texts_signed_chunks_unchanged(tmp_path) -> None:
    """The agent's own store, with no change on the gate side, takes the hub's chunks."""
    from hub.db import Store

    key = new_key()
    store = Store.open(tmp_path / "hub.db")
    with store.tx() as db:
        acl.ensure_gate(db, "north")
        for e in _entries():
            db.execute("INSERT INTO acl_state (gate_id, uid, entry) VALUES ('north', ?, ?)",
                       [e.uid, canonical_json(e).decode()])
        db.execute("UPDATE acl_head SET rev = 3, checksum = ? WHERE gate_id = 'north'", [checksum_of(_entries())])
    with store.read() as db:
        parts = acl.snapshot_parts(db, "north", chunk_size=2)
    assert len(parts) == 2
    gate = AclStore(tmp_path / "gate", "north")
    results = []
    for update, texts in parts:
        msg = parse(AclUpdate, signed_with_texts(update, "upserts", texts, key, SITE, "acl"))
        verify(msg, [key], SITE, "acl", "north")
        results.append(gate.apply(msg))
    assert results[-1] == Applied.APPLIED
    assert (gate.rev, gate.checksum) == (3, checksum_of(_entries()))
    assert gate.get("0C0012AB36") == _entries()[2]
    store.close()


def test_the_whole_list_is_built_on_the_snapshot_thread_not_the_mqtt_thread(hub, peer, monkeypatch) -> None:
    built_on: list[str] = []
    real = acl.snapshot_parts

    def spy(db, gate_id, *args):
        built_on.append(threading.current_thread().name)
        return real(db, gate_id, *args)

    monkeypatch.setattr(acl, "snapshot_parts", spy)
    hub.key("north")
    http = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    for i in range(3):
        card = {"uid": f"0A0012AB3{i}", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}
        assert http.post("/api/v1/cards", json=card).status_code == 201
    gate = peer()
    gate.subscribe(gate_topic(hub.site, "north", "acl"))
    req = SyncRequest(gate_id="north", rev=0, checksum="0" * 64, at=datetime.now(timezone.utc))
    gate.publish(gate_topic(hub.site, "north", "sync"), hub.signed("north", req, "sync"))
    chunk = parse(AclUpdate, gate.next(what="the snapshot")[1])
    assert chunk.kind == "snapshot" and len(chunk.upserts) == 3
    assert verify(chunk, [hub.key("north")], hub.site, "acl", "north") == 0
    with hub.store.read() as db:
        assert (chunk.rev, chunk.checksum) == acl.head(db, "north")
    assert built_on == ["acl-snapshots"]
