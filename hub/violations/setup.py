"""The violations domain in the hub: ``violations_setup(app)`` (one line in hub.app.create_app).

The ticker purges, hourly, the violations past their retention (1 year general, 5 major).
"""

from __future__ import annotations

from fastapi import FastAPI

from hub import photos
from hub.violations import service

HOURLY_S = 3600.0


def violations_setup(app: FastAPI) -> None:
    cfg = app.state.config.hub
    store = app.state.store
    where = photos.photo_dir_of(cfg.db_path, cfg.photo_dir)
    app.state.ticker.every(HOURLY_S, "violations.retention",
                           lambda db, now: service.purge(db, now, where, store.after_commit) and None)
