"""schemathesis against the live multi-worker app: every operation of /api/v1/openapi.json.

The department (``dept``: three approved entries, a compiled and submitted report) is
served by gunicorn (tests/live_server.py); schemathesis calls every operation with the
office's token and bounded examples. It must find no 5xx, no response outside the
documented statuses and no body that does not match its schema.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from danvan.api import tokens
from danvan.extensions import db
from tests.factories import require, submitted

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
MAX_EXAMPLES = "15"
TIMEOUT_S = 420


def test_schemathesis_finds_nothing(dept, live_server, tmp_path):
    require(
        importlib.util.find_spec("schemathesis") is not None,
        "schemathesis chưa được cài (requirements-dev.txt)",
    )
    submitted(dept)  # a report waiting for the director's signature
    token = tokens.create_token(dept.office, name="schemathesis").secret
    db.session.commit()
    server = live_server()
    spec_url = f"{server.url}/api/v1/openapi.json"
    with urllib.request.urlopen(spec_url, timeout=30) as response:
        spec = json.load(response)
    assert spec["openapi"] == "3.1.0" and len(spec["paths"]) >= 20
    report = tmp_path / "schemathesis.xml"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        spec_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        MAX_EXAMPLES,
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20231015",
        # One worker: two threads importing schemathesis' transports at once crash it.
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--suppress-health-check",
        "all",
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        check=False,
        cwd=tmp_path,  # its example database (.schemathesis/) stays out of the checkout
    )
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.txt").write_text(output, "utf-8")
    assert result.returncode == 0, output[-8000:] + "\n--- server ---\n" + server.log()[-4000:]
    assert "No issues found" in output or "passed" in output, output[-3000:]
