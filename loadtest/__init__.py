"""Load tests and benchmarks for restpg (and any PostgREST-compatible server): see README.md here."""
