"""Gate events: what happened at each door, stored once each, shown live."""
