"""People's accounts and browser sessions; the token and user commands."""
