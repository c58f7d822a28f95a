"""The enrolment desk: cards tapped on the clerk's desk reader, handed to the clerk's page.

A desk station is a gate agent with role "enroll": its reads are PRESENTED events, never
passes. The hub keeps them apart from gate events (hub.enroll.store), tells the clerk at
once what it knows of each UID (hub.enroll.standing) and streams them per station
(hub.enroll.views) to the card-issue page (hub/static/enroll.js).
"""
