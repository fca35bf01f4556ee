"""The per-engine cache of prepared bodiless requests: a repeated request skips the core, anything that
differs (method, path, query, a header the core reads) is another entry, errors are never kept, and the
cache is bounded."""

from typing import Any

import pytest

from restpg.app import PREPARED_CACHE_SIZE, _bodiless_prepare


class Rejected(Exception):
    pass


class FakeEngine:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def prepare(self, *args: Any) -> object:
        self.calls.append(args)
        if args[2] == "bad":
            raise Rejected
        return object()


HEADERS = (b"", None, None, None, None, None, None)  # the empty body, then the headers


def test_a_repeated_request_is_prepared_once() -> None:
    engine = FakeEngine()
    prepare = _bodiless_prepare(engine)  # type: ignore[arg-type]
    first = prepare("GET", "/items", "id=eq.1", *HEADERS)
    assert prepare("GET", "/items", "id=eq.1", *HEADERS) is first
    assert engine.calls == [("GET", "/items", "id=eq.1", *HEADERS)]


@pytest.mark.parametrize(
    "other",
    [
        ("HEAD", "/items", "id=eq.1", *HEADERS),
        ("GET", "/items2", "id=eq.1", *HEADERS),
        ("GET", "/items", "id=eq.2", *HEADERS),
        ("GET", "/items", "id=eq.1", b"", "text/csv", None, None, None, None, None),
        ("GET", "/items", "id=eq.1", b"", None, "count=exact", None, None, None, None),
        ("GET", "/items", "id=eq.1", b"", None, None, "0-9", None, None, None),
        ("GET", "/items", "id=eq.1", b"", None, None, None, None, "other", None),
    ],
)
def test_anything_the_core_reads_is_part_of_the_key(other: tuple[Any, ...]) -> None:
    prepare = _bodiless_prepare(FakeEngine())  # type: ignore[arg-type]
    assert prepare(*other) is not prepare("GET", "/items", "id=eq.1", *HEADERS)


def test_errors_are_not_kept() -> None:
    engine = FakeEngine()
    prepare = _bodiless_prepare(engine)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(Rejected):
            prepare("GET", "/items", "bad", *HEADERS)
    assert len(engine.calls) == 2


def test_the_cache_is_bounded_and_keeps_the_recent() -> None:
    engine = FakeEngine()
    prepare = _bodiless_prepare(engine)  # type: ignore[arg-type]
    for i in range(PREPARED_CACHE_SIZE + 10):
        prepare("GET", "/items", f"id=eq.{i}", *HEADERS)
    assert prepare.cache_info().currsize == PREPARED_CACHE_SIZE  # type: ignore[attr-defined]
    calls = len(engine.calls)
    prepare("GET", "/items", f"id=eq.{PREPARED_CACHE_SIZE + 9}", *HEADERS)  # recent: kept
    assert len(engine.calls) == calls
    prepare("GET", "/items", "id=eq.0", *HEADERS)  # the oldest: evicted
    assert len(engine.calls) == calls + 1
