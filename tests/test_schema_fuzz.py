"""The HTTP API against its own OpenAPI schema: schemathesis (every check, valid and
invalid requests, stateful sequences) against a live server. No server error, no status
code or body the schema does not describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.browser import free_port, start_uvicorn
from tests.conftest import office_of
from web.app import create_app

EXAMPLES = 50  # per operation and phase: bounded, so the suite stays minutes long


def test_the_api_conforms_to_its_schema(web_bot, seed_settings, tmp_path):
    settings = seed_settings.model_copy(update={"rate_limit_per_minute": 0})
    port = free_port()
    server = start_uvicorn(create_app(settings, bot=web_bot, office=office_of(web_bot)), port)
    try:
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run",
             f"http://127.0.0.1:{port}/openapi.json", "--checks", "all", "--mode", "all",
             "--max-examples", str(EXAMPLES), "--seed", "11", "--workers", "1",
             "--report", "junit", "--report-junit-path", str(tmp_path / "junit.xml")],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its cache there
            env={"PATH": str(Path(sys.executable).parent), "NO_COLOR": "1",
                 "SCHEMATHESIS_TELEMETRY": "false", "HOME": str(tmp_path)})
    finally:
        server.should_exit = True
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout
    assert "Operations:       5 selected / 5 total" in run.stdout
