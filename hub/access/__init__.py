"""Access levels and schedules: which gates, doors and hours each card may use.

A card's levels (its own, or its card type's defaults) decide which gates list it and, at
each, the doors and hours; hub.gates.acl.project turns them into AclEntries and nothing
else does. See hub.access.merge for the rule when two levels reach one gate.
"""
