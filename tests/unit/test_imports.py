"""What ``restpg serve`` imports: modules it needs only on rare paths stay unloaded until those paths run.

Import time is most of the time to ``/ready``, and Granian's workers inherit what the supervisor imported.
A fresh interpreter per case: this test process has imported everything already.
"""

from __future__ import annotations

import subprocess
import sys

_SERVE_IMPORTS = "import restpg.cli, restpg.app, restpg.server"


def _loaded_after(code: str, modules: list[str]) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_serving_without_keys_loads_neither_pyjwt_nor_the_doctor() -> None:
    rare = ["jwt", "cryptography", "restpg.auth.jwks", "urllib.request", "restpg.security.doctor"]
    code = f"{_SERVE_IMPORTS}\nfrom restpg.app import authenticator_for\nfrom restpg.config import Config\n"
    code += "authenticator_for(Config(db_anon_role='anon'))"
    assert _loaded_after(code, rare) == []


def test_a_configured_secret_loads_pyjwt_at_once_not_on_the_first_token() -> None:
    code = f"{_SERVE_IMPORTS}\nfrom restpg.app import authenticator_for\nfrom restpg.config import Config\n"
    code += "authenticator_for(Config(jwt_secret='x' * 32))"
    assert _loaded_after(code, ["jwt", "cryptography"]) == ["jwt", "cryptography"]
