"""How ``reload_bench --halves`` splits one fixed-rate run's requests around the changes (run: pytest
loadtest)."""

from __future__ import annotations

from loadtest.schema_scale.reload_bench import after_changes, halves


def requests(slow_from: float, slow_to: float) -> list[tuple[float, float, int]]:
    """A request due every millisecond for 10 s: 1 ms each, 5 ms when due in [slow_from, slow_to) of
    every second."""
    return [
        (t / 1000, 0.005 if slow_from <= (t % 1000) / 1000 < slow_to else 0.001, 200) for t in range(10_000)
    ]


def test_a_slowdown_just_after_each_change_counts_in_the_first_half() -> None:
    found = halves(requests(0.0, 0.1), changed=[float(s) for s in range(1, 9)])
    assert found["p99 first half"] == "5.00ms"
    assert found["p99 second half"] == "1.00ms"
    assert found["ratio"] == "5.000"
    assert found["median interval ratio"] == "5.000"
    # A fifth of the first half's requests (100 ms of 500) five times as slow: 1.8 ms on average against 1.
    assert found["mean ratio"] == "1.800"
    # Only the seven whole intervals between the eight changes, halved.
    assert found["requests"] == "3500 / 3500"


def test_a_slowdown_late_in_each_interval_counts_in_the_second_half() -> None:
    found = halves(requests(0.6, 0.7), changed=[float(s) for s in range(1, 9)])
    assert found["ratio"] == "0.200"
    assert found["median interval ratio"] == "0.200"


def test_failed_requests_are_counted() -> None:
    answered = requests(0.0, 0.0)
    answered[1500] = (1.5, 0.001, 503)
    answered[200] = (0.2, 0.001, 503)  # before the first change: not in any interval
    assert halves(answered, changed=[1.0, 2.0])["non-2xx"] == "1"


def test_a_request_in_flight_when_a_change_begins_counts_in_its_first_half() -> None:
    # Slow just before each change (the last 20 ms of each second): held up by the change, not by what
    # came before it.
    found = halves(requests(0.98, 1.0), changed=[float(s) for s in range(1, 9)])
    assert found["p99 first half"] == "5.00ms"
    assert found["p99 second half"] == "1.00ms"


def test_requests_by_how_long_after_a_change_they_were_due() -> None:
    # Due half-way through each millisecond (never on a bucket's edge); slow when due 100-120 ms after a
    # change, as after the listener's debounce.
    due = [(t + 0.5) / 1000 for t in range(10_000)]
    answered = [(d, 0.005 if 0.1 <= d % 1 < 0.12 else 0.001, 200) for d in due]
    rows = after_changes(answered, changed=[float(s) for s in range(1, 9)])
    assert [round(offset, 2) for offset, *_ in rows] == [k / 100 for k in range(30)]
    by_offset = {round(offset, 2): (count, mean) for offset, count, mean, _ in rows}
    assert by_offset[0.1] == (80, 0.005) and by_offset[0.11] == (80, 0.005)  # 10 a change, 8 changes
    assert by_offset[0.09] == (80, 0.001) and by_offset[0.12] == (80, 0.001)
