"""The duty desk's 24-hour log: entries by shift, handover items, special incidents with
their 10-minute report-up timer, and the handover the incoming guard accepts."""
