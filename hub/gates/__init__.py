"""Gates: their access lists, status and remote open."""
