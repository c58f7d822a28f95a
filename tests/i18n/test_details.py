"""Error details and the other texts the hub answers, in the reader's language, over real HTTP
(the hub in-process, a real SQLite file): a session's chosen language, an integration's
Accept-Language, English for a bearer token that asks for none; the ``error`` rule and the
``field`` stay the same in all three, as a program reads them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.auth import COOKIE, create_token
from hub.db import Store
from hub.i18n.catalogs import gettext
from tests.hub.conftest import make_config

OWN = {"Origin": "http://testserver"}  # a session's change comes from the hub's own pages


@pytest.fixture
def hub(tmp_path):
    config = make_config(tmp_path)
    store = Store.open(config.hub.db_path)
    with TestClient(create_app(config, store, connect_mqtt=False)) as client:
        client.store = store
        yield client
    store.close()


@pytest.fixture
def ask(hub):
    """ask(reader, method, path, **kw): the answer as each of the three readers gets it."""
    clerk = create_token(hub.store, "clerk", "desk")
    signed = hub.post("/login", data={"token": clerk}, headers=OWN, follow_redirects=False)
    sid = signed.cookies.get(COOKIE)
    assert signed.status_code == 303 and sid
    chose = hub.post("/language", data={"language": "zh_Hans", "next": "/clerk"},
                     headers={**OWN, "Cookie": f"{COOKIE}={sid}"}, follow_redirects=False)
    assert chose.status_code == 303
    hub.cookies.clear()  # each reader says who it is on each request, nothing else carries over
    readers = {
        "zh_Hans": {**OWN, "Cookie": f"{COOKIE}={sid}"},
        "zh_Hant": {"Authorization": f"Bearer {clerk}", "Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"},
        "en": {"Authorization": f"Bearer {clerk}"},
    }

    def call(reader: str, method: str, path: str, **kw):
        return hub.request(method, path, headers=readers[reader], **kw)

    return call


def _all(ask, method: str, path: str, **kw) -> dict[str, dict]:
    answers = {}
    for reader in ("zh_Hans", "zh_Hant", "en"):
        r = ask(reader, method, path, **kw)
        answers[reader] = {"status": r.status_code, **r.json()}
    return answers


def _same_for_programs(answers: dict[str, dict], status: int, error: str, field: str | None) -> None:
    for reader, a in answers.items():
        assert (a["status"], a["error"], a["field"]) == (status, error, field), (reader, a)


def _issue(ask, uid: str) -> None:
    until = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    r = ask("en", "POST", "/api/v1/cards", json={"uid": uid, "card_type": "owner",
                                                  "holder": {"name": "Li Na", "unit": "A-12-03"},
                                                  "valid_until": until})
    assert r.status_code == 201, r.text


def test_a_card_that_does_not_exist(ask):
    answers = _all(ask, "GET", "/api/v1/cards/CAFE0B0B")
    _same_for_programs(answers, 404, "unknown_card", "uid")
    assert answers["en"]["detail"] == "no card CAFE0B0B"
    assert answers["zh_Hans"]["detail"] == "没有卡号为 CAFE0B0B 的卡"
    assert answers["zh_Hant"]["detail"] == "沒有卡號為 CAFE0B0B 的卡"


def test_a_move_the_rules_forbid_names_the_status_and_the_move_in_the_readers_words(ask):
    _issue(ask, "CAFE0C01")
    answers = _all(ask, "POST", "/api/v1/cards/CAFE0C01/resume", json={})
    _same_for_programs(answers, 422, "resume_from_active", None)
    assert answers["en"]["detail"] == "a card that is active cannot be resumed"
    for code in ("zh_Hans", "zh_Hant"):  # the status and the move are words of the catalog, said in the template
        status, done = gettext(code, "active"), gettext(code, "resumed")
        assert status != "active" and done != "resumed"
        assert answers[code]["detail"] == gettext(code, "a card that is {status} cannot be {done}").format(
            status=status, done=done)
    assert answers["zh_Hans"]["detail"].startswith("卡片当前状态为“")
    assert answers["zh_Hant"]["detail"].startswith("卡片目前狀態為「")


def test_a_refusal_whose_move_is_a_word(ask):
    _issue(ask, "CAFE0C02")
    answers = _all(ask, "POST", "/api/v1/cards/CAFE0C02/suspend", json={"reason": "  "})
    _same_for_programs(answers, 422, "reason_required", "reason")
    assert answers["en"]["detail"] == "a card cannot be suspend without a reason"
    assert answers["zh_Hans"]["detail"] == "停用必须填写原因"
    assert answers["zh_Hant"]["detail"] == "停用必須填寫原因"


def test_a_form_field_that_does_not_validate(ask):
    body = {"uid": "CAFE0C03", "card_type": "owner", "holder": {"name": "", "unit": "A-12-03"}}
    answers = _all(ask, "POST", "/api/v1/cards", json=body)
    _same_for_programs(answers, 422, "bad_input", "holder.name")
    assert answers["en"]["detail"] == "holder's name: at least 1 characters"
    assert answers["zh_Hans"]["errors"] == [{"field": "holder.name", "detail": "至少 1 个字符"}]
    assert "持卡人姓名" in answers["zh_Hans"]["detail"]
    assert answers["zh_Hant"]["errors"] == [{"field": "holder.name", "detail": "至少 1 個字元"}]


def test_the_desk_says_what_it_knows_of_a_uid_in_the_readers_words(ask):
    said = {reader: ask(reader, "GET", "/api/v1/enroll/cards/CAFE0D01").json() for reader in ("zh_Hans", "zh_Hant", "en")}
    assert {s["state"] for s in said.values()} == {"unknown"}
    assert said["en"]["text"] == "not known: a new card"
    assert said["zh_Hans"]["text"] == "系统中没有此卡：新卡"
    assert said["zh_Hant"]["text"] == "系統中沒有此卡：新卡"


def test_an_import_says_its_bad_rows_in_the_readers_words(ask):
    csv = "building,floor,room,colour\nA,12,03,red\n".encode()
    said = {}
    for reader in ("zh_Hans", "zh_Hant", "en"):
        r = ask(reader, "POST", "/api/v1/import/units", files={"file": ("units.csv", csv, "text/csv")})
        assert r.status_code == 200, r.text
        said[reader] = r.json()
    assert [(e["row"], e["column"]) for e in said["en"]["errors"]] == [(1, "colour")]
    assert said["en"]["errors"][0]["message"].startswith("unknown column; the columns are building, floor, room")
    assert said["zh_Hans"]["errors"][0]["message"].startswith("未知的列；可用的列为 building, floor, room")
    assert said["zh_Hant"]["errors"][0]["message"].startswith("未知的欄；可用的欄為 building, floor, room")
    assert said["zh_Hans"]["detail"] == "共 1 处问题，未导入任何数据"
    assert said["en"]["detail"] == "1 problem(s); nothing was imported"


def test_a_printed_number_refused_as_a_uid_still_gives_the_protocols_hint():
    """The detail spells the hint of protocols.uid out (the catalogs need the whole text): the same words."""
    import sqlite_utils

    from hub.cards.printed import check_new_uid
    from hub.errors import BadInput
    from protocols.uid import PRINT_HINT

    with pytest.raises(BadInput) as refused:
        check_new_uid(sqlite_utils.Database(memory=True), "0008844356")
    assert refused.value.rule == "printed_number_not_uid"
    assert refused.value.detail.endswith(": " + PRINT_HINT)
    assert gettext("zh_Hans", refused.value.template) != refused.value.template


def test_a_mistyped_uid_is_refused_in_the_readers_words_and_the_protocols_english(ask):
    answers = _all(ask, "POST", "/api/v1/cards/ZZ/suspend", json={"reason": "abroad"})
    _same_for_programs(answers, 422, "bad_uid", "uid")
    assert answers["en"]["detail"] == "uid 'ZZ' has characters that are not hex digits"  # protocols.uid's words
    assert answers["zh_Hans"]["detail"] == "卡号 'ZZ' 含有非十六进制字符"
    assert answers["zh_Hant"]["detail"] == "卡號 'ZZ' 含有非十六進位字元"


def test_a_paper_moves_body_is_refused_in_the_words_of_the_apis_own_422s(hub):
    supervisor = create_token(hub.store, "supervisor", "boss")
    at = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    move = {"move": "issue", "at": at, "paper_reason": "entered late",
            "body": {"uid": "CAFE0E01", "card_type": "owner", "holder": {"name": "", "unit": "A-12-03"}}}
    said = {}
    for reader, language in (("zh_Hans", "zh-CN"), ("zh_Hant", "zh-HK"), ("en", None)):
        headers = {"Authorization": f"Bearer {supervisor}", **({"Accept-Language": language} if language else {})}
        r = hub.post("/api/v1/paper-moves", json=move, headers=headers)
        assert (r.status_code, r.json()["error"], r.json()["field"]) == (422, "bad_input", "body.holder.name"), r.text
        said[reader] = r.json()["detail"]
    assert said["en"] == "holder's name: at least 1 characters"
    assert said["zh_Hans"] == "持卡人姓名：至少 1 个字符"
    assert said["zh_Hant"] == "持卡人姓名：至少 1 個字元"
