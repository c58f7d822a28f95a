"""protocols' English refusals of a UID or a print, as the hub answers them: the English word
for word, and a template of the catalogs (so a Chinese reader gets Chinese) for each kind."""

from __future__ import annotations

from functools import partial

import pytest

from hub.cards.uid_words import print_refused, uid_refused
from hub.i18n.catalogs import gettext
from protocols.cardformats import FormatError, parse_printed
from protocols.uid import InvalidUid, check_card_length, new_card_uid

UIDS = ["", "ZZ", "ABC", "AB", "A" * 40, "0008844356", "123,45678", "12 34 56 78 90 AB"]
PRINTS = [dict(text="1,2", facility=1), dict(), dict(text="9999999999"), dict(text="hello"),
          dict(facility=999, number=1), dict(facility=1, number=999999), dict(text="1,2", bits=99)]


def _uid_refusal(raw: str) -> InvalidUid:
    with pytest.raises(InvalidUid) as refused:
        check_card_length(new_card_uid(raw))
    return refused.value


@pytest.mark.parametrize("raw", UIDS)
def test_every_uid_refusal_is_a_template_of_the_catalogs(raw: str) -> None:
    exc = _uid_refusal(raw)
    said = uid_refused(exc, exc.rule)
    assert said.detail == str(exc) and said.rule == exc.rule and said.field == "uid"
    for code in ("zh_Hans", "zh_Hant"):
        assert gettext(code, said.template) != said.template, said.template  # in the catalog, translated
        chinese = said.in_language(partial(gettext, code))
        assert chinese != said.detail and all(str(v) in chinese for v in said.params.values())


@pytest.mark.parametrize("kw", PRINTS, ids=str)
def test_every_print_refusal_is_a_template_of_the_catalogs(kw: dict) -> None:
    kw = dict(kw)
    with pytest.raises(FormatError) as refused:
        parse_printed(kw.pop("text", None), **kw)
    said = print_refused(refused.value, "bad_printed_number")
    assert said.detail == str(refused.value) and said.field == "printed"
    chinese = said.in_language(partial(gettext, "zh_Hans"))
    assert chinese != said.detail and all(str(v) in chinese for v in said.params.values())


def test_a_refusal_the_table_does_not_know_keeps_its_english() -> None:
    said = uid_refused(InvalidUid("something new about uid ZZ"), "bad_uid")
    assert said.detail == "something new about uid ZZ" and not said.params


def test_a_card_imports_bad_row_is_said_in_the_readers_words() -> None:
    from hub.cards.bulk_import import Checked
    from hub.i18n.validation import N_

    checked = Checked()
    checked.refuse(7, "UID", "duplicate_uid_in_file", N_("{uid} is on row {on_row} already"), uid="CAFE0001", on_row=3)
    row = checked.errors[0]
    assert row.detail == "CAFE0001 is on row 3 already"  # English, as the CLI and a log read it
    assert row.said(str) == {"row": 7, "column": "UID", "rule": "duplicate_uid_in_file",
                             "detail": "CAFE0001 is on row 3 already"}
    assert row.said(partial(gettext, "zh_Hans"))["detail"] == "CAFE0001 已在第 3 行出现"
    assert row.said(partial(gettext, "zh_Hant"))["detail"] == "CAFE0001 已在第 3 列出現"
