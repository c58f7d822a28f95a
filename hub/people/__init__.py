"""Units, households and people; the confidential household file; bulk import."""
