"""JWKS URL: keys fetched from a local HTTP server, rotation by kid, provider outages."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from auth_helpers import EC_KEY, RSA_KEY, RSA_KEY_2, authenticator, jwks, public_jwk, signed

from restpg.auth import AuthError


class Provider:
    """A JWKS endpoint on 127.0.0.1 whose document and health the test controls."""

    def __init__(self) -> None:
        self.document = jwks(public_jwk(RSA_KEY, kid="k1"))
        self.up = True
        self.requests = 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests += 1
                if not provider.up:
                    self.send_error(503)
                    return
                body = provider.document.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    served = Provider()
    yield served
    served.stop()


def bearer(key: Any, kid: str, alg: str = "RS256", **claims: Any) -> str:
    return f"Bearer {signed({'role': 'author', **claims}, key, alg, kid=kid)}"


def test_keys_are_fetched_on_start(provider: Provider) -> None:
    async def scenario() -> None:
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()
        try:
            assert auth.authenticate(bearer(RSA_KEY, "k1")).role == "author"
        finally:
            await auth.close()

    asyncio.run(scenario())
    assert provider.requests == 1


def test_rotation_by_kid_refetches_once(provider: Provider) -> None:
    async def scenario() -> None:
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()
        assert auth.jwks is not None
        try:
            provider.document = jwks(public_jwk(RSA_KEY, kid="k1"), public_jwk(RSA_KEY_2, kid="k2"))
            assert (await auth.authenticate_async(bearer(RSA_KEY_2, "k2"))).role == "author"
            assert provider.requests == 2
            # the old key is still published: both verify, no further fetch
            assert auth.authenticate(bearer(RSA_KEY, "k1", sub="x")).role == "author"
            assert provider.requests == 2
            # k1 retired: its tokens stop verifying once the set is refetched
            provider.document = jwks(public_jwk(RSA_KEY_2, kid="k2"))
            await auth.jwks.refresh(force=True)
            with pytest.raises(AuthError) as caught:
                auth.authenticate(bearer(RSA_KEY, "k1", sub="y"))
            assert caught.value.message == "No suitable key or wrong key type"
        finally:
            await auth.close()

    asyncio.run(scenario())


def test_unknown_kid_refetch_is_rate_limited(provider: Provider) -> None:
    async def scenario() -> None:
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()
        try:
            for attempt in range(5):
                with pytest.raises(AuthError) as caught:
                    await auth.authenticate_async(bearer(RSA_KEY_2, f"forged-{attempt}"))
                assert caught.value.status == 401
        finally:
            await auth.close()

    asyncio.run(scenario())
    # the start fetch and the first forged kid's refetch; the next forged kids within 30 s fetch nothing
    assert provider.requests == 2


def test_sync_authenticate_refetches_in_the_background(provider: Provider) -> None:
    async def scenario() -> None:
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()
        assert auth.jwks is not None
        auth.jwks.min_refetch_interval = 0
        try:
            provider.document = jwks(public_jwk(EC_KEY, kid="ec"))
            header = bearer(EC_KEY, "ec", alg="ES256")
            with pytest.raises(AuthError):
                auth.authenticate(header)  # refused now, refetch scheduled
            for _ in range(200):
                await asyncio.sleep(0.01)
                if provider.requests == 2 and auth.jwks.keys[0].kid == "ec":
                    break
            assert auth.authenticate(header).role == "author"
        finally:
            await auth.close()

    asyncio.run(scenario())


def test_provider_down_keeps_the_last_good_keys(provider: Provider) -> None:
    async def scenario() -> None:
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()
        assert auth.jwks is not None
        try:
            provider.up = False
            assert await auth.jwks.refresh(force=True) is False
            provider.server.shutdown()  # gone entirely: connection refused
            provider.server.server_close()
            assert await auth.jwks.refresh(force=True) is False
            assert auth.authenticate(bearer(RSA_KEY, "k1")).role == "author"
        finally:
            await auth.close()

    asyncio.run(scenario())


def test_provider_down_at_start_refuses_tokens_until_it_answers(provider: Provider) -> None:
    async def scenario() -> None:
        provider.up = False
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()  # does not raise: the server must still start
        assert auth.jwks is not None
        auth.jwks.min_refetch_interval = 0
        try:
            with pytest.raises(AuthError) as caught:
                await auth.authenticate_async(bearer(RSA_KEY, "k1"))
            assert (caught.value.status, caught.value.code) == (401, "PGRST301")
            provider.up = True
            await auth.jwks.refresh(force=True)
            assert auth.authenticate(bearer(RSA_KEY, "k1")).role == "author"
        finally:
            await auth.close()

    asyncio.run(scenario())


def test_invalid_document_keeps_the_last_good_keys(provider: Provider) -> None:
    async def scenario() -> None:
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()
        assert auth.jwks is not None
        try:
            provider.document = json.dumps({"not": "a key set"})
            assert await auth.jwks.refresh(force=True) is False
            assert auth.authenticate(bearer(RSA_KEY, "k1")).role == "author"
        finally:
            await auth.close()

    asyncio.run(scenario())


def test_key_change_clears_the_token_cache(provider: Provider) -> None:
    async def scenario() -> None:
        auth = authenticator(secret=None, jwks_url=provider.url)
        await auth.start()
        assert auth.jwks is not None
        try:
            header = bearer(RSA_KEY, "k1")
            auth.authenticate(header)
            auth.authenticate(header)
            assert auth.cache_stats.hits == 1
            provider.document = jwks(public_jwk(RSA_KEY_2, kid="k2"))
            await auth.jwks.refresh(force=True)
            with pytest.raises(AuthError):
                auth.authenticate(header)  # a revoked key's tokens are not served from cache
        finally:
            await auth.close()

    asyncio.run(scenario())
