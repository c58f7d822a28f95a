"""The few-second checks: each in its own transaction, one failing never stops the others."""

from __future__ import annotations

from hub.db import Store
from hub.ticker import Ticker


def test_a_failing_check_is_rolled_back_alone(tmp_path):
    store = Store(tmp_path / "t.db")
    with store.writer() as db:
        db.execute("CREATE TABLE ran (name TEXT)")
    ticker = Ticker(store)

    def good(db, now):
        db.execute("INSERT INTO ran VALUES ('good')")

    def bad(db, now):
        db.execute("INSERT INTO ran VALUES ('bad')")
        raise RuntimeError("broken check")

    ticker.every(60, "bad", bad)
    ticker.every(60, "good", good)
    ticker.run_due()
    ticker.run_due()  # not due again within its interval
    with store.read() as db:
        assert [r[0] for r in db.execute("SELECT name FROM ran")] == ["good"]
    ticker.poke()
    ticker.run_due()
    with store.read() as db:
        assert [r[0] for r in db.execute("SELECT name FROM ran")] == ["good", "good"]
    store.close()
