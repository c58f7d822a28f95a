"""Browser pages: the login page and the guard's live entry page."""
