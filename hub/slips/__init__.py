"""Release slips (放行条) and the finance system's fee positions: hub.slips.service holds the rules."""
