"""What the visitor page's tests ask of the hub outside the page: the hub's pass keys (the
public halves a gate is given) and visits made through the API, as the visitor desk, or a
guard at the gatehouse, makes them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from protocols.visitpass import public_keys


def hub_public_keys(estate) -> dict:
    """{key id: public key} of the hub's pass keys, as stored (a gate checks a pass with these)."""
    with estate.store.read() as db:
        rows = db.execute("SELECT key_id, public FROM visit_keys WHERE kind = 'pass'").fetchall()
    keys = public_keys({kid: public for kid, public in rows})
    assert keys, "the hub has no pass key"
    return keys


def pre_register(estate, *, name: str, plate: str, unit: str, at_gate: bool = False) -> dict:
    """A visit registered through the API: by the desk ahead of time (no ID yet, no pass), or
    by a guard at the gatehouse with its QR pass (``at_gate``)."""
    leave = datetime.now(timezone.utc) + timedelta(hours=3)
    body = {"visitor_name": name, "id_type": "resident_id", "phone": "13700000000", "host_unit": unit,
            "purpose": "Visiting family", "party_size": 1, "plate": plate, "expected_leave_at": leave.isoformat()}
    if at_gate:
        body["id_number"] = "440301198805051234"
    headers = estate.h("guard" if at_gate else "clerk")
    r = httpx.post(estate.url + "/api/v1/visits", json=body, headers=headers)
    assert r.status_code == 201, r.text
    visit = r.json()
    if at_gate:
        made = httpx.post(f"{estate.url}/api/v1/visits/{visit['visit_id']}/passes", json={"kind": "qr"},
                          headers=headers)
        assert made.status_code == 201, made.text
        visit["passes"] = [made.json()]
    return visit
