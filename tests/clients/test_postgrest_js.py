"""``@supabase/postgrest-js`` and ``@neondatabase/postgrest-js`` under Node against a live restpg.

The JavaScript suite (``tests/clients/js``, node's own test runner) gets the API URL (Supabase style, under
``/rest/v1``) and a token for a restricted role in environment variables. ``npm ci`` installs the locked
client versions once per checkout; without Node and npm the test is skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jwt
import pytest

JS = Path(__file__).resolve().parent / "js"
SECRET = "a postgrest-js test secret, 32 characters or more"
READER = "restpg_test_openapi_reader"  # tests/fixtures/70_openapi.sql: may read openapi_notes only


def _installed() -> None:
    lock = JS / "package-lock.json"
    stamp = JS / "node_modules" / ".package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True, timeout=300
    )


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_postgrest_js_clients(restpg_server: Any) -> None:
    _installed()
    # db-plan-enabled: the suite checks explain() (tests/spec/test_plan_media.py checks the 406 without it).
    server = restpg_server({"restpg-base-path": "/rest/v1", "jwt-secret": SECRET, "db-plan-enabled": True})
    env = {
        **os.environ,
        "RESTPG_URL": f"{server.url}/rest/v1",
        "RESTPG_READER_TOKEN": jwt.encode({"role": READER}, SECRET, algorithm="HS256"),
    }
    result = subprocess.run(
        ["node", "--test", "--test-reporter=tap", "."],
        check=False,
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    # Both clients ran: a runner that found no test files would also exit 0.
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) > 0, result.stdout[-2000:]
    assert "# fail 0" in result.stdout
    assert "@supabase/postgrest-js" in result.stdout and "@neondatabase/postgrest-js" in result.stdout
