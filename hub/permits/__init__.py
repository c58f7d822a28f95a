"""Renovation permits (issue 14): the application and its moves (hub.permits.moves, the
rules in hub.permits.rules), and the workers' cards that follow their permit at every gate
(hub.permits.access). The API is described in hub/permits/API.md."""
