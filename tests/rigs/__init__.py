"""Real parts for tests: a private mosquitto, pty serial pairs, bounded waits."""
