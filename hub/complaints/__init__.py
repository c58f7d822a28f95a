"""Complaints: the record, its moves and deadlines on the working calendar, escalation,
follow-up visits, repeats and the month's figures (see API.md)."""
