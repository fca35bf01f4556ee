"""restpg: a PostgREST-compatible REST Data API for PostgreSQL."""
