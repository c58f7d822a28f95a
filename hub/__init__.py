"""The central service: records, rules, web pages and the API.

Each domain is a package with its models, its service (pure rules over the store) and its
views (the FastAPI router): cards/, events/, gates/ ... Errors are domain exceptions from
hub.errors, mapped to HTTP once in hub.app.
"""
