"""A body is never read for nobody, and never past its route's cap (through real uvicorn)."""

from __future__ import annotations

import httpx

from hub.frontdoor import BODY_LIMITS, DEFAULT_LIMIT, body_limit

from .conftest import raw_post

MB = 1024 * 1024
BIG = 64 * MB
#: what the kernel's socket buffers on both ends may take before the server reads anything
BUFFERS = 16 * MB


def test_64_mb_with_a_made_up_token_is_401_without_being_read(served):
    r = raw_post(served.url, "/api/v1/cards", {"Authorization": "Bearer anything",
                                               "Content-Type": "application/json"}, BIG)
    assert r.status == 401, r.head
    assert b'"unauthenticated"' in r.body
    assert r.sent < BUFFERS, f"the server took {r.sent} bytes of a body it should never have read"


def test_64_mb_with_a_valid_token_is_413_at_once(served):
    h = {"Authorization": "Bearer " + served.token("clerk"), "Content-Type": "application/json"}
    r = raw_post(served.url, "/api/v1/cards", h, BIG)
    assert r.status == 413, r.head
    assert b'"body_too_large"' in r.body
    assert r.sent < BUFFERS


def test_a_chunked_body_is_cut_off_at_the_cap(served):
    token = served.token("clerk")
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    r = raw_post(served.url, "/api/v1/cards", h, BIG, chunked=True)
    assert r.status == 413, r.head
    assert r.sent < BUFFERS
    cards = httpx.get(served.url + "/api/v1/cards", headers={"Authorization": "Bearer " + token})
    assert cards.status_code == 200 and cards.json() == []  # nothing was made of it


def test_a_chunked_body_under_the_cap_still_works(served):
    h = {"Authorization": "Bearer " + served.token("clerk")}
    body = b'{"uid": "0A0012AB34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}'
    r = httpx.post(served.url + "/api/v1/cards", content=iter([body[:20], body[20:]]),
                   headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 201, r.text


def test_imports_and_photos_take_more_than_json(served):
    assert body_limit("/api/v1/cards") == DEFAULT_LIMIT
    assert body_limit("/api/v1/import/people") > body_limit("/api/v1/people/7/photo") > DEFAULT_LIMIT
    assert body_limit("/api/v1/cards/imports") > body_limit("/api/v1/import/people")  # the card migration's files
    # the finance system's fee file (hub.slips.fees) and a violation's photos (hub.violations)
    assert body_limit("/api/v1/slips/fees/import") == body_limit("/api/v1/import/people")
    assert body_limit("/api/v1/violations/7/photos") == body_limit("/api/v1/people/7/photo")
    assert body_limit("/api/v1/slips") == body_limit("/api/v1/violations/7") == DEFAULT_LIMIT
    assert len(BODY_LIMITS) == 5
    h = {"Authorization": "Bearer " + served.token("clerk")}
    # a 1 MB spreadsheet is over the JSON cap but within the import's: it reaches the importer
    r = httpx.post(served.url + "/api/v1/import/people", headers=h,
                   files={"file": ("people.csv", b"name,role,unit\n" + b"x" * MB, "text/csv")})
    assert r.status_code != 413 and r.json()["error"] != "body_too_large"
    r = httpx.post(served.url + "/api/v1/import/people", headers=h,
                   files={"file": ("people.csv", b"x" * (7 * MB), "text/csv")})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
