"""The languages the estate's staff read: Simplified Chinese (a new estate's default),
Traditional Chinese and English.

Every text a person reads is an English msgid looked up in gettext catalogs (Babel; the
``messages`` domain for pages and error details, the ``js`` domain for page scripts), so a
page, an error ``detail`` and a script's message say the same thing in the same words. The
machine-readable parts (an error's ``rule``, field names, JSON keys) stay English.
"""
