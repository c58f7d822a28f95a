"""ACL to the gates: deltas after each card change, and answers to SyncRequests."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx

from hub.db import Store
from hub.gates import acl
from hub.gates.service import register_gate
from protocols.acl import EMPTY_CHECKSUM, AclEntry, checksum_of
from protocols.messages import AclUpdate, GateStatus, SyncRequest, parse
from protocols.topics import gate_topic
from tests.rigs.wait import wait_for

CARD = {"uid": "0A0012AB34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}


def _sync(peer, hub, gate, rev, checksum):
    req = SyncRequest(gate_id=gate, rev=rev, checksum=checksum, at=datetime.now(timezone.utc))
    peer.publish(gate_topic(hub.site, gate, "sync"), hub.signed(gate, req, "sync"))


def _updates(peer, n, what):
    return [parse(AclUpdate, peer.next(what=what)[1]) for _ in range(n)]


def _snapshot(peer, what) -> list[AclUpdate]:
    first = _updates(peer, 1, what)[0]
    assert first.kind == "snapshot", first
    rest = _updates(peer, first.chunks - 1, what + " (more chunks)")
    chunks = [first, *rest]
    assert {c.snapshot_id for c in chunks} == {first.snapshot_id}
    assert sorted(c.chunk for c in chunks) == list(range(first.chunks))
    return chunks


def test_issue_and_revoke_publish_consecutive_deltas_and_sync_answers(hub, peer):
    site = hub.site
    hub.key("north")
    gate = peer()
    gate.subscribe(gate_topic(site, "north", "acl"))
    http = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))

    assert http.post("/api/v1/cards", json=CARD).status_code == 201
    issued = parse(AclUpdate, gate.next(what="the issue delta")[1])
    active = AclEntry(uid="0A0012AB34", status="active", card_type="owner")
    assert (issued.kind, issued.base_rev, issued.rev) == ("delta", 0, 1)
    assert issued.upserts == (active,) and issued.removes == ()
    assert issued.checksum == checksum_of([active])

    # how soon is for the benchmarks (revocation to denial at 50 gates); here, that it comes
    assert http.post("/api/v1/cards/0A0012AB34/revoke").status_code == 200
    revoked_update = parse(AclUpdate, gate.next(timeout=15.0, what="the revoke delta")[1])
    revoked = AclEntry(uid="0A0012AB34", status="revoked", card_type="owner")
    assert (revoked_update.base_rev, revoked_update.rev) == (1, 2)
    assert revoked_update.upserts == (revoked,)
    assert revoked_update.checksum == checksum_of([revoked])

    assert http.post("/api/v1/cards", json={**CARD, "uid": "0B0B0B0B"}).status_code == 201
    third = parse(AclUpdate, gate.next(what="the second card's delta")[1])
    assert (third.base_rev, third.rev) == (2, 3)
    head_sum = third.checksum
    second = AclEntry(uid="0B0B0B0B", status="active", card_type="owner")
    assert head_sum == checksum_of([revoked, second])

    # rev 0: the whole list, whose union has the head's checksum
    _sync(gate, hub, "north", 0, EMPTY_CHECKSUM)
    chunks = _snapshot(gate, "a snapshot for rev 0")
    entries = [e for c in chunks for e in c.upserts]
    assert {c.rev for c in chunks} == {3}
    assert sorted(e.uid for e in entries) == ["0A0012AB34", "0B0B0B0B"]
    assert checksum_of(entries) == head_sum == chunks[0].checksum

    # an old rev with its right checksum: one coalesced delta (latest state per uid)
    _sync(gate, hub, "north", 1, checksum_of([active]))
    delta = parse(AclUpdate, gate.next(what="a delta from rev 1")[1])
    assert (delta.kind, delta.base_rev, delta.rev, delta.checksum) == ("delta", 1, 3, head_sum)
    assert sorted(delta.upserts, key=lambda e: e.uid) == [revoked, second]

    # the right rev with the wrong checksum, and a rev ahead of the hub: a snapshot
    _sync(gate, hub, "north", 3, "f" * 64)
    assert checksum_of(e for c in _snapshot(gate, "a snapshot after a bad checksum") for e in c.upserts) == head_sum
    # a gate ahead (the hub restored from a backup) ignores anything at or below its own
    # rev, so the hub renumbers past it
    _sync(gate, hub, "north", 9, head_sum)
    ahead = _snapshot(gate, "a snapshot for a rev ahead")
    assert ahead[0].rev == 10 and ahead[0].checksum == head_sum

    # already current: no answer
    _sync(gate, hub, "north", 10, head_sum)
    gate.nothing(0.5)


def test_a_gate_seen_first_gets_its_list_built(hub, peer):
    site = hub.site
    http = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    for uid in ("01010101", "02020202"):
        assert http.post("/api/v1/cards", json={**CARD, "uid": uid}).status_code == 201
    gate = peer()
    gate.subscribe(gate_topic(site, "south", "acl"))
    _sync(gate, hub, "south", 0, EMPTY_CHECKSUM)
    chunks = _snapshot(gate, "the new gate's snapshot")
    entries = [e for c in chunks for e in c.upserts]
    assert sorted(e.uid for e in entries) == ["01010101", "02020202"]
    assert checksum_of(entries) == chunks[0].checksum
    # and from now on it gets deltas too
    assert http.post("/api/v1/cards/01010101/revoke").status_code == 200
    d = parse(AclUpdate, gate.next(what="a delta for the new gate")[1])
    assert d.kind == "delta" and d.base_rev == chunks[0].rev and d.upserts[0].status == "revoked"


def test_a_gate_seen_by_its_status_gets_deltas(hub, peer):
    site = hub.site
    gate = peer()
    gate.subscribe(gate_topic(site, "east", "acl"))
    status = GateStatus(gate_id="east", online=True, at=datetime.now(timezone.utc))
    gate.publish(gate_topic(site, "east", "status"), hub.signed("east", status, "status"), retain=True)
    http = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    wait_for(lambda: [g for g in http.get("/api/v1/gates").json() if g["gate_id"] == "east" and g["online"]],
             what="gate east online (its status handled: the peer's subscription is in place)")
    assert http.post("/api/v1/cards", json=CARD).status_code == 201
    d = parse(AclUpdate, gate.next(what="east's delta")[1])
    assert d.gate_id == "east" and d.rev == 1
    gate.publish(gate_topic(site, "east", "status"), b"", retain=True)


def test_a_heartbeat_with_a_list_not_the_hubs_gets_a_snapshot_once(hub, peer):
    """A gate that never lost the broker never asks; its heartbeat shows the drift."""
    site = hub.site
    gate = peer()
    gate.subscribe(gate_topic(site, "west", "acl"))
    http = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    assert http.post("/api/v1/cards", json=CARD).status_code == 201

    def beat(rev: int, checksum: str) -> None:
        status = GateStatus(gate_id="west", online=True, at=datetime.now(timezone.utc), acl_rev=rev, checksum=checksum)
        gate.publish(gate_topic(site, "west", "status"), hub.signed("west", status, "status"))

    beat(7, "e" * 64)  # ahead of the hub, with a list the hub never made
    chunks = _snapshot(gate, "a repair snapshot after a drifting heartbeat")
    assert chunks[0].rev == 8
    assert [e.uid for c in chunks for e in c.upserts] == ["0A0012AB34"]
    beat(7, "e" * 64)  # still wrong: not sent again at once
    gate.nothing(0.5)
    gate.publish(gate_topic(site, "west", "status"), b"", retain=True)


def test_a_heartbeat_behind_but_consistent_gets_nothing(hub, peer):
    """Behind the head with the log's checksum at that rev: the deltas are on their way."""
    site = hub.site
    gate = peer()
    gate.subscribe(gate_topic(site, "south", "acl"))
    status = GateStatus(gate_id="south", online=True, at=datetime.now(timezone.utc))
    gate.publish(gate_topic(site, "south", "status"), hub.signed("south", status, "status"))
    http = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    wait_for(lambda: [g for g in http.get("/api/v1/gates").json() if g["gate_id"] == "south" and g["online"]],
             what="gate south online (its status handled: the peer's subscription is in place)")
    assert http.post("/api/v1/cards", json=CARD).status_code == 201
    assert http.post("/api/v1/cards", json={**CARD, "uid": "0B0B0B0B"}).status_code == 201
    first, second = _updates(gate, 2, "two deltas")
    assert (first.rev, second.rev) == (1, 2)
    behind = GateStatus(gate_id="south", online=True, at=datetime.now(timezone.utc), acl_rev=1, checksum=first.checksum)
    gate.publish(gate_topic(site, "south", "status"), hub.signed("south", behind, "status"))
    gate.nothing(0.7)


def test_big_lists_come_in_chunks_and_big_gaps_as_snapshots(tmp_path):
    store = Store.open(tmp_path / "hub.db")
    now = datetime.now(timezone.utc).isoformat()
    with store.tx() as db:
        acl.ensure_gate(db, "north")
        for i in range(1201):
            db["cards"].insert({"uid": f"{i:08X}", "status": "active", "card_type": "owner", "created_at": now,
                                "updated_at": now})
            acl.card_changed(db, f"{i:08X}")
        rev, head_sum = acl.head(db, "north")
        assert rev == 1201
        chunks = acl.answer_sync(db, "north", 0, EMPTY_CHECKSUM)
        assert [len(c.upserts) for c in chunks] == [500, 500, 201]
        assert {c.chunks for c in chunks} == {3} and len({c.snapshot_id for c in chunks}) == 1
        assert checksum_of(e for c in chunks for e in c.upserts) == head_sum
        # 700 cards changed since rev 500: too many for one delta, so a snapshot
        at_500 = list(db.query("SELECT checksum FROM acl_log WHERE gate_id='north' AND rev=500"))[0]["checksum"]
        assert acl.answer_sync(db, "north", 500, at_500)[0].kind == "snapshot"
        at_1200 = list(db.query("SELECT checksum FROM acl_log WHERE gate_id='north' AND rev=1200"))[0]["checksum"]
        (d,) = acl.answer_sync(db, "north", 1200, at_1200)
        assert (d.kind, d.base_rev, d.rev, d.checksum) == ("delta", 1200, 1201, head_sum)
        # a rev the hub has no log for (a gate from another hub's database)
        assert acl.answer_sync(db, "north", 5000, head_sum)[0].kind == "snapshot"
    store.close()


def test_deltas_split_into_consecutive_runs():
    rows = [acl.LogRow("g", r, f"{r:02X}", None, "0" * 64) for r in range(1, 8)]
    out = acl.deltas("g", rows, chunk=3)
    assert [(d.base_rev, d.rev) for d in out] == [(0, 3), (3, 6), (6, 7)]
    assert out[0].removes == ("01", "02", "03")


def test_a_rolled_back_change_leaves_no_log(tmp_path):
    store = Store.open(tmp_path / "hub.db")
    with store.tx() as db:
        acl.ensure_gate(db, "north")
    try:
        with store.tx() as db:
            now = datetime.now(timezone.utc).isoformat()
            db["cards"].insert({"uid": "AA", "status": "active", "card_type": "owner", "created_at": now, "updated_at": now})
            acl.card_changed(db, "AA")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with store.read() as db:
        assert acl.head(db, "north") == (0, EMPTY_CHECKSUM)
        assert acl.max_log_id(db) == 0
    store.close()


def test_a_revocation_reaches_every_gate_within_a_second(hub, peer):
    gates = ("north", "south", "east")
    listener = peer()
    for g in gates:
        register_gate(hub.store, g, "test")
        listener.subscribe(gate_topic(hub.site, g, "acl"))
    http = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    assert http.post("/api/v1/cards", json=CARD).status_code == 201
    assert {topic for topic, _ in (listener.next(what="issue deltas") for _ in gates)} == {
        gate_topic(hub.site, g, "acl") for g in gates}
    assert http.post("/api/v1/cards/0A0012AB34/revoke").status_code == 200
    got = {}
    for _ in gates:
        topic, payload = listener.next(timeout=15.0, what="a revoke delta for every gate")
        got[topic] = parse(AclUpdate, payload)
    assert {u.gate_id for u in got.values()} == set(gates)
    assert all(u.upserts[0].status == "revoked" and u.rev == 2 for u in got.values())


def _big_entry(uid: str) -> AclEntry:
    """A renovation worker's entry with a schedule and years of estate holidays: ~600 bytes."""
    from datetime import date, time as clock, timedelta

    from protocols.acl import Schedule, TimeWindow

    holidays = tuple(date(2024, 1, 1) + timedelta(days=7 * i) for i in range(40))
    schedule = Schedule(timezone="Asia/Shanghai", windows=(TimeWindow(days=(0, 1, 2, 3, 4, 5), start=clock(8), end=clock(12)),
                                                          TimeWindow(days=(0, 1, 2, 3, 4, 5), start=clock(14), end=clock(18))),
                        holidays=holidays)
    return AclEntry(uid=uid, status="active", card_type="renovation_worker", schedule=schedule)


def test_every_message_fits_what_a_gate_accepts_however_big_the_entries(tmp_path):
    """500 entries with schedules and holidays are over 256 KB: chunks are cut by size too."""
    from protocols.acl import canonical_json
    from protocols.messages import MAX_PAYLOAD

    store = Store.open(tmp_path / "hub.db")
    entries = [_big_entry(f"0C{i:06X}") for i in range(1200)]
    assert len(canonical_json(entries[0])) > 600
    with store.tx() as db:
        acl.ensure_gate(db, "north")
        for e in entries:
            acl._set_entry(db, "north", e.uid, e)  # noqa: SLF001 - the log as card changes write it
        chunks = acl.snapshot(db, "north")
        rows = [acl.LogRow("north", r["rev"], r["uid"], r["entry"], r["checksum"])
                for r in db.query("SELECT * FROM acl_log WHERE gate_id = 'north' ORDER BY rev")]
        far_behind = acl.answer_sync(db, "north", 100, rows[99].checksum)
    for update in [*chunks, *acl.deltas("north", rows), *far_behind]:
        wire = update.to_bytes()
        assert len(wire) <= MAX_PAYLOAD, f"{update.kind} of {len(wire)} bytes would be refused by the gate"
        assert parse(AclUpdate, wire) == update
    assert sum(len(c.upserts) for c in chunks) == 1200 and checksum_of(e for c in chunks for e in c.upserts) == chunks[0].checksum
    assert far_behind[0].kind == "snapshot", "1,100 big changes are too much for one delta"


def test_entry_texts_are_exactly_the_models_texts_for_every_kind_of_card(tmp_path):
    """hub.gates.entry_texts builds most texts from one template per shape: each one must be
    byte for byte what project and listed_text give (the checksum and signatures hang on it)."""
    from hub.access import service as access
    from hub.access.models import LevelBody, ScheduleBody
    from hub.access.plan import load_plan
    from hub.gates.entry_texts import EntryTexts, listed_text

    store = Store.open(tmp_path / "hub.db")
    now = datetime.now(timezone.utc).isoformat()
    validity = [None, "2027-01-01T00:00:00+00:00", "2027-01-01T08:00:00+08:00", "2026-12-31T23:59:59.123456Z",
                "2027-03-01T10:00:00-05:00"]
    statuses = ["active", "suspended", "lost", "revoked", "expired", "returned", "in_stock", "personalised"]
    types = ["owner", "tenant", "domestic_helper", "renovation_worker", None]
    cards = []
    for i in range(400):
        uid = f"0D{i:06X}" if i % 50 else f"0d:{i:06x}"[:11]  # a few rows not in canonical form
        cards.append((uid, statuses[i % len(statuses)], types[i % len(types)], validity[i % 5], validity[(i // 5) % 5]))
    with store.tx() as db:
        for g in ("north", "south", "east"):
            acl.ensure_gate(db, g)
        db.conn.executemany("INSERT INTO cards (uid, status, card_type, valid_from, valid_until, created_at, updated_at)"
                            f" VALUES (?, ?, ?, ?, ?, '{now}', '{now}')", cards)
    access.create_schedule(store, "t", "days", ScheduleBody(timezone="Asia/Shanghai",
                                                            windows=[{"days": [0, 1], "start": "08:00", "end": "18:00"}]))
    access.add_holiday(store, "t", datetime(2031, 10, 1).date(), "National Day")
    access.create_level(store, "t", "doors", LevelBody(items=[{"gate_id": "north", "doors": ["n-1", "n-2"]},
                                                              {"gate_id": "south"}], schedule="days", anti_passback=True))
    access.create_level(store, "t", "east", LevelBody(items=[{"gate_id": "east"}]))
    access.set_type_defaults(store, "t", "domestic_helper", ("doors",))
    access.set_type_defaults(store, "t", "tenant", ("doors", "east"))
    access.set_card_levels(store, "t", "0D000007", ("east",))
    gates = ["north", "south", "east"]
    with store.read() as db:
        plan = load_plan(db)
        texts = EntryTexts(plan, gates, lambda c, g, p: acl.project(db, c, g, p))
        rows = list(db.query("SELECT * FROM cards ORDER BY uid"))
        shapes = set()
        for row in rows:
            want = {g: listed_text(e) for g, e in acl.project(db, row, gates, plan).items()}
            assert texts.of(row) == want, row
            shapes.add(tuple(sorted(want)))
    assert len(shapes) >= 4, "the cards reach different sets of gates"
    assert len(texts._prefixes) < len(rows) // 5, "most texts come from a template"  # noqa: SLF001
    store.close()
