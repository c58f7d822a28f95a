"""The wire contract between gate agents and the hub.

Pure and I/O-free: topic names, message models, card UID form and serial frame codecs.
Both services import this package; it imports neither of them.
"""
