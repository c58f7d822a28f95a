"""Gate messages the hub could not handle, kept for a supervisor instead of blocking intake."""
