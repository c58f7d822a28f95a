"""The broker's trust, made by the hub: the estate CA and certificates (TLS on the broker
link), the gates' broker logins, and the mosquitto password and ACL files written from the
database. mosquitto reads the files; the operator tells it to reload (SIGHUP)."""
