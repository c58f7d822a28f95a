"""Access levels reaching gates over a real broker: which gates list a card, and a schedule
change re-projecting every card that uses it, with the gates' own list code (AclStore)
holding the hub's checksum afterwards."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx

from gate_agent.acl_store import AclStore, Applied
from hub.gates import acl
from hub.gates.service import register_gate
from protocols.acl import EMPTY_CHECKSUM
from protocols.messages import AclUpdate, SyncRequest, parse
from protocols.signing import sign
from protocols.topics import gate_topic

OWNER = {"card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}


_KEYS: dict[tuple[str, str], str] = {}


def _register(hub, gate: str) -> str:
    _KEYS[(hub.site, gate)] = register_gate(hub.store, gate, "test")
    return _KEYS[(hub.site, gate)]


def _sync(peer, site, gate, rev, checksum):
    """A sync request as the gate signs it (the gate registered with ``_register``)."""
    req = SyncRequest(gate_id=gate, rev=rev, checksum=checksum, at=datetime.now(timezone.utc))
    peer.publish(gate_topic(site, gate, "sync"), sign(req, _KEYS[(site, gate)], site, "sync").to_bytes())


class Gates:
    """Plain MQTT peers standing in for gates, each keeping its list with the agent's AclStore."""

    def __init__(self, hub, peer, tmp_path, names):
        self.hub, self.site = hub, hub.site
        self.listener = peer()
        self.stores = {n: AclStore(tmp_path / f"gate-{n}", n) for n in names}
        for n in names:
            self.listener.subscribe(gate_topic(self.site, n, "acl"))

    def take(self, n: int, what: str) -> dict[str, list[AclUpdate]]:
        """The next ``n`` updates, per gate, each applied to that gate's store."""
        got: dict[str, list[AclUpdate]] = {}
        for _ in range(n):
            _topic, payload = self.listener.next(what=what)
            u = parse(AclUpdate, payload)
            assert self.stores[u.gate_id].apply(u) == Applied.APPLIED, (u.gate_id, u.base_rev, u.rev)
            got.setdefault(u.gate_id, []).append(u)
        return got

    def in_step(self) -> None:
        """Every gate holds the hub's rev and checksum; a sync at that rev gets no answer."""
        for name, store in self.stores.items():
            with self.hub.store.read() as db:
                assert (store.rev, store.checksum) == acl.head(db, name), name
            assert store.verify()
            _sync(self.listener, self.site, name, store.rev, store.checksum)
        self.listener.nothing(0.5)

    def close(self):
        for s in self.stores.values():
            s.close()


def test_a_card_limited_to_north_is_listed_at_north_and_removed_from_south(hub, peer, tmp_path):
    for g in ("north", "south"):
        _register(hub, g)
    gates = Gates(hub, peer, tmp_path, ["north", "south"])
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    clerk = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    try:
        level = {"name": "north-pedestrian", "items": [{"gate_id": "north", "doors": ["north-in", "north-out"]}]}
        assert sup.post("/api/v1/access/levels", json=level).status_code == 201
        gates.listener.nothing(0.3)  # a level no card uses moves no gate

        assert clerk.post("/api/v1/cards", json={**OWNER, "uid": "0A0012AB34"}).status_code == 201
        issued = gates.take(2, "the issue delta at both gates")
        assert set(issued) == {"north", "south"}

        r = clerk.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["north-pedestrian"]})
        assert r.status_code == 200, r.text
        moved = gates.take(2, "the access change at both gates")
        (north,), (south,) = moved["north"], moved["south"]
        assert [(e.uid, e.doors, e.schedule) for e in north.upserts] == [("0A0012AB34", ("north-in", "north-out"), None)]
        assert south.upserts == () and south.removes == ("0A0012AB34",)
        assert gates.stores["south"].get("0A0012AB34") is None
        assert gates.stores["north"].get("0A0012AB34").doors == ("north-in", "north-out")
        gates.in_step()

        # a card given that level straight away is never listed at south; a new gate never gets it
        assert clerk.post("/api/v1/cards", json={**OWNER, "uid": "0B0B0B0B"}).status_code == 201
        gates.take(2, "the second card's issue deltas")
        assert clerk.put("/api/v1/cards/0B0B0B0B/access", json={"levels": ["north-pedestrian"]}).status_code == 200
        gates.take(2, "the second card's access change")
        _sync(gates.listener, hub.site, "south", 0, EMPTY_CHECKSUM)
        snap = parse(AclUpdate, gates.listener.next(what="south's snapshot")[1])
        assert (snap.gate_id, snap.kind, snap.upserts) == ("south", "snapshot", ())
        assert snap.checksum == gates.stores["south"].checksum
        east = peer()
        east.subscribe(gate_topic(hub.site, "east", "acl"))
        _register(hub, "east")
        _sync(east, hub.site, "east", 0, EMPTY_CHECKSUM)
        east_snap = parse(AclUpdate, east.next(what="east's first snapshot")[1])
        assert east_snap.kind == "snapshot" and east_snap.upserts == () and east_snap.checksum == EMPTY_CHECKSUM
        gates.in_step()
    finally:
        gates.close()


def test_changing_a_schedule_reprojects_every_card_that_uses_it(hub, peer, tmp_path):
    for g in ("north", "south"):
        _register(hub, g)
    gates = Gates(hub, peer, tmp_path, ["north", "south"])
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    uids = [f"C0C0C0{i:02X}" for i in range(6)]
    try:
        assert sup.put("/api/v1/access/calendar", json={"timezone": "Asia/Shanghai"}).status_code == 200
        shift = {"name": "night-shift", "windows": [{"days": [0, 1, 2, 3, 4], "start": "22:00", "end": "06:00"}]}
        assert sup.post("/api/v1/access/schedules", json=shift).status_code == 201
        level = {"name": "north-nights", "items": [{"gate_id": "north"}], "schedule": "night-shift"}
        assert sup.post("/api/v1/access/levels", json=level).status_code == 201
        for uid in uids:
            assert sup.post("/api/v1/cards", json={**OWNER, "uid": uid}).status_code == 201
            gates.take(2, f"{uid}'s issue deltas")
            assert sup.put(f"/api/v1/cards/{uid}/access", json={"levels": ["north-nights"]}).status_code == 200
            gates.take(2, f"{uid}'s access change")
        gates.in_step()
        with hub.store.read() as db:
            before = {g: acl.head(db, g) for g in ("north", "south")}
            audits = db["audit"].count

        shift["windows"][0]["end"] = "07:00"
        body = {k: v for k, v in shift.items() if k != "name"}
        assert sup.put("/api/v1/access/schedules/night-shift", json=body).status_code == 200

        got = gates.listener.next(what="the re-projection at north")
        first = parse(AclUpdate, got[1])
        assert first.gate_id == "north"
        assert gates.stores["north"].apply(first) == Applied.APPLIED
        updates = [first]
        while gates.stores["north"].rev < before["north"][0] + len(uids):
            more = gates.take(1, "the rest of the re-projection at north")
            assert set(more) == {"north"}, "south lists none of these cards"
            updates += more["north"]
        changed = {e.uid: e for u in updates for e in u.upserts}
        assert sorted(changed) == uids
        held = [gates.stores["north"].get(uid) for uid in uids]  # the schedule as the gate resolves it
        assert all(e.schedule.windows[0].end.hour == 7 and e.schedule.timezone == "Asia/Shanghai" for e in held)
        with hub.store.read() as db:
            assert acl.head(db, "north")[0] == before["north"][0] + len(uids)  # one rev per card
            assert acl.head(db, "south") == before["south"]
            assert db["audit"].count == audits + 1  # one change, one audit row
        gates.in_step()
    finally:
        gates.close()
