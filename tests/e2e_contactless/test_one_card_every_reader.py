"""One card, every reader, on real parts: a MIFARE card tapped on the PC/SC desk (pcscd + vpcd +
a virtual card) is issued by its UID and opens a gate whose 13.56 MHz reader sends Wiegand 26
(first 3 UID bytes reversed) through a converter on a pty; an EM4100 fob, whose printed
10-digit number is refused as a UID and finds nothing until the fob has been tapped on the
desk's RDM6300, then opens an RDM6300 gate and a 125 kHz Wiegand 26 gate. Real agents, real
mosquitto, LCUS relays on ptys.

A 13.56 MHz card cannot be read by a 125 kHz RDM6300 at all; an estate with both kinds of
gate reader issues dual-frequency cards or fobs, and each chip is its own UID at the hub.
"""

from __future__ import annotations

import time

from protocols.em4100 import encode_frame
from protocols.lcus import relay_frame
from protocols.wiegand import encode_wiegand, hex_digits
from tests.e2e_contactless.conftest import DESK_READER, issue, passes
from tests.e2e_contactless.sse import SseReader
from tests.rigs.wait import wait_for

DESK = "desk-1"
MIFARE, MIFARE_W26 = "AA3F9B1A", "9B3FAA"
FOB, FOB_W26, FOB_PRINT = "100086F444", "86F444", "0008844356"
OPEN, SHUT = relay_frame(1, True), relay_frame(1, False)


def _relay(path: str) -> dict:
    return {"kind": "lcus-serial", "port": path, "channel": 1, "pulse_ms": 300}


def _w26(reader, data: int) -> None:
    reader.write(f"W26:{encode_wiegand(data, 26):0{hex_digits(26)}X}\r\n".encode())


def _opened(relay) -> None:
    assert relay.read_exactly(4, 10.0) == OPEN
    assert relay.read_exactly(4, 3.0) == SHUT


def test_a_desk_issued_card_opens_wiegand_and_rdm6300_gates_and_a_print_is_never_a_uid(
        hub, make_agent, pty_device, desk_card):
    desk_rdm = pty_device()
    hf_reader, hf_relay = pty_device(), pty_device()  # gate "west": 13.56 MHz reader, Wiegand 26 out
    rdm_reader, rdm_relay = pty_device(), pty_device()  # gate "east": RDM6300
    lf_reader, lf_relay = pty_device(), pty_device()  # gate "south": 125 kHz reader, Wiegand 26 out

    desk = make_agent(DESK, [{"id": "desk", "readers": [{"kind": "pcsc", "reader": DESK_READER},
                                                         {"kind": "em4100-serial", "port": desk_rdm.path}]}],
                      role="enroll")
    west = make_agent("west", [{"id": "west-in", "relay": _relay(hf_relay.path), "readers": [
        {"kind": "wiegand-serial", "port": hf_reader.path, "formats": [26], "uid_form": "w26-first3-reversed"}]}])
    east = make_agent("east", [{"id": "east-in", "relay": _relay(rdm_relay.path), "readers": [
        {"kind": "em4100-serial", "port": rdm_reader.path}]}])
    south = make_agent("south", [{"id": "south-in", "relay": _relay(lf_relay.path), "readers": [
        {"kind": "wiegand-serial", "port": lf_reader.path, "formats": [26], "uid_form": "w26-last3"}]}])
    for relay in (hf_relay, rdm_relay, lf_relay):
        assert relay.read_exactly(4, 5.0) == SHUT
    assert desk.role == "enroll"
    clerk, guard = hub.client("clerk"), hub.client("guard")
    wait_for(lambda: DESK in [s["gate_id"] for s in clerk.get("/api/v1/enroll/stations").json()], 10, "the desk")
    taps = SseReader(hub.url, f"/api/v1/enroll/stations/{DESK}/stream", dict(clerk.headers))
    try:
        assert taps.status == 200
        # the MIFARE card on the PC/SC desk reader: the clerk's page gets its UID and issues it
        desk_card.present(MIFARE)
        tapped = taps.next(what="the PC/SC desk tap")["data"]
        assert tapped["uid"] == MIFARE and tapped["standing"]["state"] == "unknown"
        issue(clerk, tapped["uid"])
        desk_card.remove()
        wait_for(lambda: west.acl.get(MIFARE_W26), 10, "the card under its W26 form at the Wiegand gate")
        assert east.acl.get(MIFARE_W26) is None  # the RDM6300 gate reports whole UIDs only
        _w26(hf_reader, int(MIFARE_W26, 16))
        first_tap = time.monotonic()
        _opened(hf_relay)

        # the fob: its print typed as a UID is refused and stored nowhere; looked up, it is not known yet
        refused = clerk.post("/api/v1/cards", json={"uid": FOB_PRINT, "card_type": "owner",
                                                    "holder": {"name": "Zhao Min", "unit": "B-03-11"}})
        assert refused.status_code == 422 and refused.json()["error"] == "printed_number_not_uid"
        assert clerk.get(f"/api/v1/cards/{FOB_PRINT}").status_code == 404
        unknown = clerk.get("/api/v1/cards/find", params={"printed": FOB_PRINT})
        assert unknown.status_code == 404 and "tap the card on the desk reader" in unknown.json()["detail"]

        # tapped on the desk's RDM6300, it is issued by its UID; the print now finds it
        desk_rdm.write(encode_frame(FOB))
        tapped = taps.next(what="the RDM6300 desk tap")["data"]
        assert tapped["uid"] == FOB
        issue(clerk, tapped["uid"], name="Zhao Min", unit="B-03-11")
        found = clerk.get("/api/v1/cards/find", params={"printed": FOB_PRINT})
        assert found.status_code == 200 and found.json()["uid"] == FOB
        assert found.json()["holder"]["name"] == "Zhao Min"

        wait_for(lambda: east.acl.get(FOB) and south.acl.get(FOB_W26), 10, "the fob at both 125 kHz gates")
        rdm_reader.write(encode_frame(FOB))
        _opened(rdm_relay)
        _w26(lf_reader, int(FOB_W26, 16))
        _opened(lf_relay)

        granted = wait_for(lambda: (p := [e for e in guard.get("/api/v1/events?limit=100").json()
                                          if e["kind"] == "pass"]) and len(p) == 3 and p, 10, "three passes at the hub")
        assert {(e["gate_id"], e["uid"], e["decision"]) for e in granted} == {
            ("west", MIFARE_W26, "granted"), ("east", FOB, "granted"), ("south", FOB_W26, "granted")}
        assert {e["gate_id"]: e["holder"]["name"] for e in granted} == {  # each read is its card's holder
            "west": "Wang Fang", "east": "Zhao Min", "south": "Zhao Min"}

        # revoking the card reaches its W26 form: the Wiegand gate now refuses it
        assert clerk.post(f"/api/v1/cards/{MIFARE}/revoke").status_code == 200
        wait_for(lambda: (e := west.acl.get(MIFARE_W26)) and e.status == "revoked", 5, "the revocation at west")
        # a second presentation only once the card has been away for the reader's repeat window
        time.sleep(max(0.0, west.reader("west-in/0").repeat_window_s - (time.monotonic() - first_tap)) + 0.1)
        _w26(hf_reader, int(MIFARE_W26, 16))
        denied = wait_for(lambda: [e for e in passes(guard, MIFARE_W26) if e["decision"] == "denied"], 10,
                          "the revoked card denied at west")
        assert denied[0]["reason"] == "card_revoked"
        assert hf_relay.read_available(0.5) == b""
    finally:
        taps.close()
