"""An MQTT broker inside the demo process, for a machine with no mosquitto.

amqtt (pure Python, asyncio) passes the QoS 1, retained and last-will behaviour gatehouse
relies on, at about 40% of mosquitto's rate: plenty for a demo, and nothing to install.
Production uses mosquitto (config/mosquitto.conf). It listens on loopback only, with
anonymous logins, and runs on its own thread and event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading

log = logging.getLogger(__name__)


class EmbeddedBroker:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="embedded-broker", daemon=True)
        self._broker = None

    def start(self, timeout: float = 10.0) -> "EmbeddedBroker":
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._thread.start()

        async def _start() -> None:
            self._broker = Broker(config, loop=self._loop)
            await self._broker.start()

        asyncio.run_coroutine_threadsafe(_start(), self._loop).result(timeout)
        log.info("embedded MQTT broker (amqtt) on %s:%d", self.host, self.port)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._broker is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(timeout)
            except Exception:  # noqa: BLE001 - shutting down anyway
                log.debug("embedded broker shutdown", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
