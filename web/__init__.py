"""The Earshot console: web pages for care teams, marketing and analysts, and the JSON API.

An entry point, like the CLI and the DAGs: every page and route calls the service layer
(:mod:`services.console`, :mod:`services.access`), never the store.
"""
