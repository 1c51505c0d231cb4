"""Cost queries: grouped SQL over the usage tables (or their rollups) that every handler calls."""
