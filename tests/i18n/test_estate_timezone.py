"""The estate's timezone is set when it is set up ([hub] timezone, Shanghai unless said) and
kept from then on: a running estate's day never moves because a config default changed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.access.plan import calendar
from hub.app import create_app
from hub.auth import create_token
from hub.config import HubConfig
from hub.db import Store
from tests.hub.conftest import make_config


def _zone(store: Store) -> str:
    with store.read() as db:
        return calendar(db)[0]


def _started(tmp_path, **hub) -> Store:
    config = make_config(tmp_path, **hub)
    store = Store.open(config.hub.db_path)
    with TestClient(create_app(config, store, connect_mqtt=False)):
        pass
    return store


def test_a_new_estate_takes_the_configured_timezone_and_keeps_a_choice_made_since(tmp_path) -> None:
    store = _started(tmp_path, timezone="Asia/Shanghai")
    assert _zone(store) == "Asia/Shanghai"
    config = make_config(tmp_path, timezone="Asia/Shanghai")
    with TestClient(create_app(config, store, connect_mqtt=False)) as client:
        r = client.put("/api/v1/access/calendar", json={"timezone": "Asia/Hong_Kong"},
                       headers={"Authorization": "Bearer " + create_token(store, "supervisor", "s")})
        assert r.status_code == 200
    store.close()
    store = _started(tmp_path, timezone="Asia/Shanghai")  # a restart: the supervisor's choice stands
    assert _zone(store) == "Asia/Hong_Kong"
    store.close()


def test_an_estate_already_running_keeps_its_day(tmp_path) -> None:
    """An estate from before the setting (UTC days, cards issued) is not moved 8 hours by an upgrade."""
    config = make_config(tmp_path, timezone="UTC")
    store = Store.open(config.hub.db_path)
    with TestClient(create_app(config, store, connect_mqtt=False)) as client:
        r = client.post("/api/v1/cards", json={"uid": "0A0B0C0D", "card_type": "owner",
                                               "holder": {"name": "王芳", "unit": "A-12-03"}},
                        headers={"Authorization": "Bearer " + create_token(store, "clerk", "c")})
        assert r.status_code == 201, r.text
    with store.tx() as db:
        db.execute("DELETE FROM audit WHERE entity = 'access_calendar'")  # as an older hub left it
    store.close()
    store = _started(tmp_path, timezone="Asia/Shanghai")
    assert _zone(store) == "UTC"
    store.close()


def test_an_unknown_timezone_is_a_config_error_naming_it(tmp_path) -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        HubConfig.model_validate({"hub": {"site": "s", "db_path": str(tmp_path / "h.db"), "timezone": "Mars/Olympus"}})
