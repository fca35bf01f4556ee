"""The database side: the connection pool, the one-round-trip execute path, SQLSTATE mapping."""
