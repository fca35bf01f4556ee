"""Authentication: JWT verification (HMAC secret, JWK/JWKS, JWKS URL), role resolution, a cache.

auth = Authenticator(secret=..., secret_is_base64=False, audience=None, role_claim_key=".role",
                     anon_role="anonymous", cache_max_entries=1000, jwks_url=None)
await auth.start()                       # JWKS lifecycle (no-op without a JWKS URL)
result = auth.authenticate(headers.get("authorization"))   # AuthResult or AuthError
await auth.close()
"""

from .authenticator import AUTHENTICATED_ROLE, Authenticator, AuthResult
from .cache import CacheStats
from .errors import AuthError
from .keys import KeyConfigError
from .role_claim import RoleClaimKeyError

__all__ = [
    "AUTHENTICATED_ROLE",
    "AuthError",
    "AuthResult",
    "Authenticator",
    "CacheStats",
    "KeyConfigError",
    "RoleClaimKeyError",
]
