"""Pre-aggregated spend per UTC hour, used when it is current with the raw usage tables."""

from __future__ import annotations


def spend_groups(session, sources, **options):
    """Return grouped spend from the rollups, or None when they are not current."""
    # TODO: rollups are not built yet, so every query reads the raw usage tables.
    return None


def stored_values(session):
    """Return the distinct dimension values from the rollups, or None when they are not current."""
    return None
