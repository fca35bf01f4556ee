"""``Server-Timing`` (``server-timing-enabled``): where a request's time went, in PostgREST's phase names.

``jwt`` is the token check, ``parse`` reading the request (headers and body), ``plan`` the core's single call
that parses the query string, plans against the schema cache and builds the SQL (restpg does these in one
pass, so PostgREST's parse/plan split maps to "read the request" / "turn it into SQL"), ``transaction`` the
pipeline on the database, ``response`` assembling the response. Durations are milliseconds, as PostgREST.
Only built when the setting is on: with it off the request path does not read the clock.
"""

from __future__ import annotations

import time

__all__ = ["PHASES", "Timing"]

PHASES = ("jwt", "parse", "plan", "transaction", "response")


class Timing:
    __slots__ = ("_durations", "_last")

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self._durations: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        """Close ``phase``: the time since the previous mark is added to it."""
        now = time.perf_counter()
        self._durations[phase] = self._durations.get(phase, 0.0) + (now - self._last)
        self._last = now

    def skip(self) -> None:
        """Restart the clock without charging any phase (time spent between phases)."""
        self._last = time.perf_counter()

    def header(self) -> tuple[str, str]:
        durations = self._durations
        value = ", ".join(f"{phase};dur={durations.get(phase, 0.0) * 1000:.1f}" for phase in PHASES)
        return "server-timing", value
