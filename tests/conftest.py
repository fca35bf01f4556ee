"""Fixtures live in plugins under ``tests/support`` (``fix_*.py``): one concern each."""

pytest_plugins = ["support.fix_db", "support.fix_server"]
