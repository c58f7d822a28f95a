"""Violations on record (违章): hub.violations.service holds the rules."""
