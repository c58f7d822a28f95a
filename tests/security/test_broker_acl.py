"""The ACL and password files ``gate-hub`` writes, on the shipped config's loopback listener
(the hub's): a gate login there, too, speaks only as itself. (The TLS listener: test_broker_tls.)"""

from __future__ import annotations

from protocols import topics
from tests.rigs.secured import Attempt, Estate


def test_anonymous_and_wrong_password_are_refused(estate: Estate) -> None:
    for over in ({"username": None, "password": None}, {"username": "north", "password": "wrong"},
                 {"username": "hub", "password": "wrong"}):
        a = Attempt(estate.hub_settings(**over), "t-refused")
        try:
            assert not a.ok, f"login {over['username']!r} should be refused"
        finally:
            a.close()


def test_a_gate_can_publish_only_as_itself_and_hear_only_its_own_commands(estate: Estate) -> None:
    site = estate.site
    hub = Attempt(estate.hub_settings(), "t-hub")
    north = Attempt(estate.hub_settings(username="north", password=estate.gates["north"].password), "t-north",
                    clean_session=False)  # see test_broker_tls: a refused publish may cost a reconnect
    try:
        assert hub.ok and north.ok, (hub.why, north.why)
        hub.subscribe(topics.all_gates_filter(site, "event"))
        north.subscribe(topics.gate_topic(site, "south", "cmd"))
        north.subscribe(topics.gate_topic(site, "north", "cmd"))

        # a command for south never reaches north; north's own does.
        hub.publish(topics.gate_topic(site, "south", "cmd"), b"for-south")
        hub.publish(topics.gate_topic(site, "north", "cmd"), b"for-north")
        assert north.messages.get(timeout=5) == (topics.gate_topic(site, "north", "cmd"), b"for-north")

        # north pretends to be south: the broker drops it; then speaks as itself.
        north.publish(topics.gate_topic(site, "south", "event"), b"forged")
        north.publish(topics.gate_topic(site, "north", "event"), b"genuine")
        assert hub.messages.get(timeout=5) == (topics.gate_topic(site, "north", "event"), b"genuine")
        assert north.messages.empty() and hub.messages.empty()
    finally:
        hub.close()
        north.close()
