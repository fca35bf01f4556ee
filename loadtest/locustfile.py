"""What users run against a restpg (or PostgREST) serving the Chinook fixture: realistic mixed traffic.

    locust -f loadtest/locustfile.py --host http://127.0.0.1:3000 --headless -u 50 -r 10 -t 60s

Two kinds of users. An anonymous listener browses the catalogue (an artist by primary key, a genre's
tracks, an artist's albums with their tracks and genres, an RPC), logs plays (single and bulk inserts) and
rates tracks (an upsert). A signed-in customer, sent only when ``LOADTEST_JWT_SECRET`` is set (the server's
``jwt-secret``), also reads their invoices with lines and tracks, which only the ``chinook_user`` role may.

Writes go to scratch tables (``play`` only grows; ``rating`` is upserted on its key), so the catalogue
the reads see never changes. ``LOADTEST_ROLLBACK=1`` adds ``Prefer: tx=rollback`` to every write, so nothing
is kept at all (the server needs ``db-tx-end = "commit-allow-override"``).

Locust prints latency percentiles per request name at the end (and with ``--csv PREFIX`` in files); the run
exits non-zero when any request failed. Locust is a Python load generator: on a small box it saturates
before the server does, so it measures realistic behaviour and latency, not peak throughput (see
``python -m loadtest.bench`` for that). Process start to first answer: ``python -m loadtest.coldstart``.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import jwt
from locust import HttpUser, between, events, tag, task

# Row counts at fixture scale 1 (python -m loadtest.fixtures); LOADTEST_SCALE for bigger loads.
SCALE = int(os.environ.get("LOADTEST_SCALE", "1"))
ARTISTS, CUSTOMERS, TRACKS, GENRES = 10000 * SCALE, 20000 * SCALE, 250000 * SCALE, 25
JWT_SECRET = os.environ.get("LOADTEST_JWT_SECRET")
ROLLBACK = os.environ.get("LOADTEST_ROLLBACK") == "1"
USER_ROLE = os.environ.get("LOADTEST_USER_ROLE", "chinook_user")


def _write_headers(prefer: str = "return=minimal") -> dict[str, str]:
    return {"Content-Type": "application/json", "Prefer": prefer + (", tx=rollback" if ROLLBACK else "")}


class AnonymousListener(HttpUser):
    """Browses without a token (the server's ``db-anon-role``)."""

    weight = 4
    wait_time = between(0.05, 0.5)

    def headers(self) -> dict[str, str]:
        return {}

    @tag("read")
    @task(10)
    def artist_by_key(self) -> None:
        self.client.get(
            f"/artist?select=*&artist_id=eq.{random.randint(1, ARTISTS)}",
            headers=self.headers(),
            name="/artist?artist_id=eq.:id",
        )

    @tag("read")
    @task(5)
    def genre_tracks(self) -> None:
        self.client.get(
            f"/track?select=track_id,name,milliseconds&genre_id=eq.{random.randint(1, GENRES)}"
            "&order=track_id&limit=100",
            headers=self.headers(),
            name="/track?genre_id=eq.:id&order&limit=100",
        )

    @tag("read", "embed")
    @task(4)
    def artist_discography(self) -> None:
        self.client.get(
            f"/album?select=*,track(*,genre(*))&artist_id=eq.{random.randint(1, ARTISTS)}",
            headers=self.headers(),
            name="/album?select=*,track(*,genre(*))",
        )

    @tag("rpc")
    @task(2)
    def rpc_add_them(self) -> None:
        a, b = random.randint(1, 100), random.randint(1, 100)
        self.client.get(
            f"/rpc/add_them?a={a}&b={b}&c=3&d=4&e=5", headers=self.headers(), name="/rpc/add_them"
        )

    @tag("rpc")
    @task(2)
    def rpc_top_tracks(self) -> None:
        self.client.post(
            "/rpc/top_tracks",
            json={"genre": random.randint(1, GENRES), "n": 20},
            headers=self.headers(),
            name="POST /rpc/top_tracks",
        )

    @tag("write")
    @task(3)
    def log_play(self) -> None:
        row = {
            "customer_id": random.randint(1, CUSTOMERS),
            "track_id": random.randint(1, TRACKS),
            "ms_played": 1,
        }
        self.client.post("/play", json=row, headers={**self.headers(), **_write_headers()}, name="POST /play")

    @tag("write")
    @task(1)
    def log_plays_bulk(self) -> None:
        rows = [
            {
                "customer_id": random.randint(1, CUSTOMERS),
                "track_id": random.randint(1, TRACKS),
                "ms_played": n,
            }
            for n in range(20)
        ]
        self.client.post(
            "/play?columns=customer_id,track_id,ms_played",
            json=rows,
            headers={**self.headers(), **_write_headers()},
            name="POST /play (20 rows)",
        )

    @tag("write")
    @task(2)
    def rate_track(self) -> None:
        row = {
            "customer_id": random.randint(1, CUSTOMERS),
            "track_id": random.randint(1, TRACKS),
            "stars": random.randint(1, 5),
        }
        self.client.post(
            "/rating",
            json=row,
            headers={**self.headers(), **_write_headers("resolution=merge-duplicates,return=minimal")},
            name="POST /rating (upsert)",
        )


class SignedInCustomer(AnonymousListener):
    """Everything a listener does, with a JWT, plus reading their own invoices (``chinook_user`` only)."""

    weight = 1
    # Without a secret there is no token to send: the class stays out of the run.
    abstract = JWT_SECRET is None

    def on_start(self) -> None:
        self.customer_id = random.randint(1, CUSTOMERS)
        claims: dict[str, Any] = {
            "role": USER_ROLE,
            "sub": str(self.customer_id),
            "exp": int(time.time()) + 3600,
        }
        token = jwt.encode(claims, JWT_SECRET or "", algorithm="HS256")
        self._headers = {"Authorization": f"Bearer {token}"}

    def headers(self) -> dict[str, str]:
        return self._headers

    @tag("read", "embed", "jwt")
    @task(4)
    def my_invoices(self) -> None:
        self.client.get(
            f"/invoice?select=invoice_id,invoice_date,total,invoice_line(quantity,unit_price,track(name))"
            f"&customer_id=eq.{self.customer_id}&order=invoice_date.desc",
            headers=self.headers(),
            name="/invoice?select=...,invoice_line(...,track(name)) [jwt]",
        )


@events.quitting.add_listener
def _summary(environment: Any, **_: Any) -> None:
    """One line per run with the overall percentiles; a non-zero exit code when anything failed."""
    total = environment.stats.total
    if total.num_requests:
        print(
            f"restpg-loadtest: {total.num_requests} requests, {total.num_failures} failed, "
            f"{total.total_rps:.0f} req/s, p50 {total.get_response_time_percentile(0.5):.0f} ms, "
            f"p90 {total.get_response_time_percentile(0.9):.0f} ms, "
            f"p99 {total.get_response_time_percentile(0.99):.0f} ms"
        )
    if total.num_failures:
        environment.process_exit_code = 1
