"""The violations page in chromium against a real hub: the desk records a violation by its
form (the hub has it as typed); a measure out of order is refused on its field and changes
nothing; only the manager is offered the penalty, which the hub then holds. The page with
its records passes axe and fits a 360 px phone."""

from __future__ import annotations

import httpx
import pytest

from tests.rigs.axe import serious_violations, sideways

pytestmark = pytest.mark.browser


def violations(estate) -> list[dict]:
    r = httpx.get(estate.url + "/api/v1/violations?limit=100", headers=estate.h("supervisor"), timeout=15)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_violation_is_recorded_its_measures_kept_in_order_and_the_manager_penalises(estate, open_page):
    page = open_page("clerk", "/violations", "#open-list[data-drawn]")
    page.fill("#vi-unit", "A-12-03")
    page.wait_for_selector("#vi-unit-check.ok")
    page.select_option("#vi-kind", "load_bearing_walls")
    page.select_option("#vi-level", "major")
    page.fill("#vi-what", "wall opened between kitchen and living room")
    page.fill("#vi-place", "A-12-03 kitchen")
    page.fill("#vi-found-by", "Guard Chen")
    page.click("#violation-submit")
    [v] = violations(estate)
    row = page.wait_for_selector(f"#open-list li[data-violation='{v['id']}']")
    assert v["unit"] == "A-12-03" and v["kind"] == "load_bearing_walls" and v["level"] == "major"
    assert "Guard Chen" in row.inner_text()
    assert row.query_selector("form[data-form=penalty]") is None  # the clerk may not penalise

    # a lawyer's letter before persuasion: refused on the measure's field, nothing recorded
    measure = f"#open-list li[data-violation='{v['id']}'] form[data-form=measure]"
    page.select_option(f"{measure} select", "lawyer_letter")
    page.click(f"{measure} button[type=submit]")
    page.wait_for_selector(f"{measure} .form-error:not(:empty)")
    assert page.get_attribute(f"{measure} .form-error", "data-rule") == "measure_out_of_order", \
        page.text_content(f"{measure} .form-error")
    assert page.get_attribute(f"{measure} select", "aria-invalid") == "true"
    assert violations(estate)[0]["measures"] == []
    page.select_option(f"{measure} select", "persuasion")
    page.click(f"{measure} button[type=submit]")
    page.wait_for_selector("#message.ok")
    assert [m["measure"] for m in violations(estate)[0]["measures"]] == ["persuasion"]
    assert page.errors == []

    boss = open_page("manager", "/violations", f"#open-list li[data-violation='{v['id']}']",
                     viewport={"width": 360, "height": 740})
    penalty = f"#open-list li[data-violation='{v['id']}'] form[data-form=penalty]"
    boss.fill(f"{penalty} [data-field=amount_cents]", "500")
    boss.fill(f"{penalty} [data-field=reason]", "load-bearing wall opened")
    boss.click(f"{penalty} button[type=submit]")
    boss.wait_for_selector(f"#open-list li[data-violation='{v['id']}'] .penalty")
    assert violations(estate)[0]["penalty"]["amount_cents"] == 50000
    assert sideways(boss) <= 0
    assert serious_violations(boss) == []
    assert boss.errors == []
