"""The on-site gate agent: decides from its cached ACL, pulses the relay, keeps every event.

The hub is never between a tap and the relay: the agent decides from a local SQLite copy of
the access list, and stores each event durably until the broker acknowledges it.
"""

__version__ = "0.1.0"
