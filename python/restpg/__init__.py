"""restpg: a PostgREST-compatible REST Data API for PostgreSQL."""

# The version is the Rust crate's (maturin takes the package version from Cargo.toml). Reading it from the
# compiled core costs nothing, where importlib.metadata adds ~40 ms to every worker's start.
from restpg._core import __version__

__all__ = ["__version__"]
