"""Alembic migrations of Earshot's store, run by :func:`storage.migrate.upgrade`.

``env.py`` runs them on the connection ``storage.migrate`` hands over (there is no alembic.ini);
``versions/`` holds one frozen revision per schema change, written with explicit DDL.
"""
