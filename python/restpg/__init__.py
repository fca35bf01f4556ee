"""restpg: a PostgREST-compatible REST Data API for PostgreSQL."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("restpg")
except PackageNotFoundError:  # running from a source checkout without the package installed
    __version__ = "0.1.0"
