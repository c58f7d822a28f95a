"""Holder photos checked by content; household files read only with a reason, and logged."""

from __future__ import annotations

import struct
import zlib
from datetime import date
from pathlib import Path

import pytest

from hub import photos
from hub.auth import Principal, Role
from hub.errors import BadInput, Forbidden, NotFound
from hub.people.files import reads_of, read_household_file
from hub.people.registry import PersonIn, UnitIn, add_person, add_unit

from .conftest import CLERK

DATA = Path(__file__).parent / "data"


def png(width: int, height: int, colour: int = 2) -> bytes:
    """A real PNG made here: rows of RGB (or grey) pixels, filter 0, deflated."""
    channels = {0: 1, 2: 3}[colour]
    raw = b"".join(b"\x00" + bytes((x * 7 + y) % 256 for x in range(width * channels)) for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


JPEG = (DATA / "holder.jpg").read_bytes()  # 120 x 150, made by chromium's own encoder


def _rule(data, claimed):
    with pytest.raises(BadInput) as err:
        photos.check(data, claimed)
    return err.value.rule


def test_real_jpeg_and_png_pass_with_their_size():
    assert photos.check(JPEG, "image/jpeg") == ("image/jpeg", 120, 150)
    assert photos.check(png(100, 80), "image/png") == ("image/png", 100, 80)
    assert photos.check(png(64, 64, colour=0), "image/png") == ("image/png", 64, 64)


@pytest.mark.parametrize("what,data,claimed,rule", [
    ("pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n" * 10, "image/jpeg", "photo_not_image"),
    ("html", b"<html><script>alert(1)</script></html>", "image/png", "photo_not_image"),
    ("empty", b"", "image/png", "photo_empty"),
    ("png claimed as jpeg", png(80, 80), "image/jpeg", "photo_type_mismatch"),
    ("jpeg claimed as png", JPEG, "image/png", "photo_type_mismatch"),
    ("gif type", b"GIF89a....", "image/gif", "photo_type"),
    ("tiny png", png(20, 20), "image/png", "photo_too_small"),
    ("truncated png", png(80, 80)[:-30], "image/png", "photo_invalid"),
    ("truncated jpeg", JPEG[: len(JPEG) // 2], "image/jpeg", "photo_invalid"),
    ("jpeg magic then junk", b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"junk" * 50, "image/jpeg", "photo_invalid"),
    ("png with a bad crc", png(80, 80)[:40] + b"\x00" + png(80, 80)[41:], "image/png", "photo_invalid"),
    ("too big", b"\x89PNG\r\n\x1a\n" + b"\x00" * (photos.MAX_BYTES + 1), "image/png", "photo_too_large"),
])
def test_non_images_and_broken_images_are_refused(what, data, claimed, rule):
    assert _rule(data, claimed) == rule


def test_png_whose_data_is_not_the_size_its_header_says():
    good = png(80, 80)
    raw = zlib.compress(b"\x00" * 10)
    body = struct.pack(">IIBBBBB", 80, 80, 8, 2, 0, 0, 0)

    def chunk(kind, b):
        return struct.pack(">I", len(b)) + kind + b + struct.pack(">I", zlib.crc32(kind + b))

    short = good[:8] + chunk(b"IHDR", body) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    assert _rule(short, "image/png") == "photo_invalid"


def test_stored_by_hash_once_and_found_only_by_a_valid_id(tmp_path):
    d = tmp_path / "photos"
    p1 = photos.store_photo(d, JPEG, "image/jpeg")
    p2 = photos.store_photo(d, JPEG, "image/jpeg")
    assert p1.photo_id == p2.photo_id and p1.photo_id.endswith(".jpg")
    assert [f.name for f in d.iterdir()] == [p1.photo_id]
    path, ctype = photos.photo_path(d, p1.photo_id)
    assert path.read_bytes() == JPEG and ctype == "image/jpeg"
    for bad in ("../hub.db", "x.jpg", p1.photo_id.replace(".jpg", ".png")):
        with pytest.raises(NotFound):
            photos.photo_path(d, bad)
    with pytest.raises(BadInput):
        photos.store_photo(d, b"not an image at all", "image/png")
    assert len(list(d.iterdir())) == 1


# --- the household file -------------------------------------------------------------------

@pytest.fixture
def household(store):
    add_unit(store, CLERK, UnitIn(building="A", floor=12, room="03", move_in_date=date(2019, 5, 1)))
    p = add_person(store, CLERK, PersonIn(name="Wang Fang", role="owner", unit="A-12-03", id_doc_no="110101199001011234"))
    return p["household_id"]


SUPERVISOR = Principal("zhao", Role.SUPERVISOR)


def test_lists_show_only_the_end_of_the_id_number(store, household):
    with store.read() as db:
        pid = list(db.query("SELECT id FROM people"))[0]["id"]
    from hub.people.registry import get_person, search

    assert get_person(store, pid)["id_doc_no"] == "**************1234"
    assert search(store, "wang")["people"][0]["id_doc_no"].endswith("1234")
    assert "110101199001011234" not in str(search(store, "A-12"))


def test_reading_a_household_file_without_a_reason_is_refused_and_not_logged(store, household):
    for reason in (None, "", "   ", "why"):
        with pytest.raises(BadInput) as err:
            read_household_file(store, SUPERVISOR, household, reason)
        assert err.value.rule == "reason_required"
    with pytest.raises(Forbidden) as err:
        read_household_file(store, Principal("mei", Role.CLERK), household, "checking the tenant's papers")
    assert err.value.rule == "file_role_required"
    assert reads_of(store, household) == []


def test_reading_with_a_reason_is_logged_with_who_and_why(store, household):
    f = read_household_file(store, SUPERVISOR, household, "complaint 2026-118: confirm the owner's contact")
    assert f["people"][0]["id_doc_no"] == "110101199001011234"  # the file is the whole record
    assert f["unit"]["code"] == "A-12-03"
    [read] = reads_of(store, household)
    assert read["who"] == "supervisor:zhao"
    assert read["reason"] == "complaint 2026-118: confirm the owner's contact"
    with pytest.raises(NotFound):
        read_household_file(store, SUPERVISOR, 9999, "a reason long enough")
