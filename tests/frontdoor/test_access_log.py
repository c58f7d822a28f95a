"""Search terms never reach a log: the hub's own access line has the path, not the query."""

from __future__ import annotations

import logging

import httpx

from tests.rigs import stack

PHONE = "13912345678"
ID_NUMBER = "110101199003074512"


def _search_by_phone_and_id(url: str, token: str) -> None:
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert api.post("/api/v1/units", json={"building": "A", "floor": 12, "room": "03"}).status_code == 201
    r = api.post("/api/v1/people", json={"name": "Wang Fang", "role": "owner", "unit": "A-12-03", "phone": PHONE})
    assert r.status_code == 201, r.text
    found = api.get("/api/v1/search", params={"q": PHONE})
    assert found.status_code == 200 and [p["name"] for p in found.json()["people"]] == ["Wang Fang"]
    assert api.get("/api/v1/search", params={"q": ID_NUMBER}).status_code == 200
    assert api.get("/api/v1/search", params={"q": PHONE[-6:]}).status_code == 200


def test_gate_hub_serve_logs_no_search_terms(hub_process):
    _search_by_phone_and_id(hub_process.url, hub_process.token("clerk"))
    log = hub_process.log()
    assert "GET /api/v1/search 200" in log  # the access log is on (log level debug) ...
    assert PHONE not in log and ID_NUMBER not in log and PHONE[-6:] not in log  # ... and holds no search term
    assert "q=" not in log


def test_a_served_hub_logs_no_search_terms(tmp_path, broker, caplog):
    caplog.set_level(logging.DEBUG)
    hub = stack.start(tmp_path, broker)
    try:
        _search_by_phone_and_id(hub.url, stack.client(hub, "clerk").headers["authorization"].split()[1])
    finally:
        hub.stop()
    # everything the server side logged (the test's own HTTP client, httpx, logs its URLs: not the hub)
    lines = [f"{r.name}: {r.getMessage()}" for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert "hub.access: GET /api/v1/search 200" in "\n".join(lines), lines
    text = "\n".join(lines)
    assert PHONE not in text and ID_NUMBER not in text and PHONE[-6:] not in text
