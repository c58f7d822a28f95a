"""Visitors: registration at the gatehouse or ahead of time, passes (a signed QR code or a
temporary card), check-in and check-out from the gates' visit events, the watch list,
overstays, retention and the monthly figures."""
