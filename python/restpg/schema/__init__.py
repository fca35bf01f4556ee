"""The schema cache: introspection queries and loading them into the core."""
