"""Access tests reuse the hub's rigs: a real SQLite hub in-process (``api``), or served and on
the session mosquitto (``hub``), with plain MQTT peers standing in for gates."""

from tests.hub.conftest import api, hub, peer  # noqa: F401
