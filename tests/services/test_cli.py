"""The `frontdoor` command line: its commands, tokens, and the logging it sets up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from services import cli
from services.auth import Role, verify_token
from services.settings import get_settings
from tests.database import ROOT


class TestParser:
    @pytest.mark.parametrize(
        "argv",
        [
            ["run"],
            ["run", "--port", "9000"],
            ["api", "triage", "--workers", "4", "--host", "0.0.0.0"],
            ["worker", "notifications"],
            ["migrate"],
            ["seed-demo"],
            ["token", "school_dsl", "--school-urn", "107301"],
        ],
    )
    def test_every_command_parses(self, argv: list[str]) -> None:
        assert cli._parser().parse_args(argv).command == argv[0]

    @pytest.mark.parametrize("argv", [["api", "billing"], ["worker"], ["token", "janitor"]])
    def test_unknown_services_and_roles_are_refused(self, argv: list[str]) -> None:
        with pytest.raises(SystemExit):
            cli._parser().parse_args(argv)


class TestToken:
    @pytest.mark.parametrize("role", list(Role))
    async def test_the_demo_token_for_each_role_verifies(self, role: Role) -> None:
        principal = await verify_token(cli.token_for(role), get_settings())
        assert principal.role is role
        assert principal.sub == cli.DEMO_PRINCIPALS[role]["sub"]

    async def test_the_token_command_prints_a_token_with_the_given_claims(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.main(["token", "referrer", "--sub", "gp-7", "--agency-id", "nhs-1"]) == 0
        token = capsys.readouterr().out.strip()
        principal = await verify_token(token, get_settings())
        assert (principal.sub, principal.agency_id) == ("gp-7", "nhs-1")

    def test_the_installed_command_runs(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "token", "admin"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert result.stdout.count(".") == 2  # header.claims.signature


class TestLoggingFormat:
    def run_logging(self, **env: str) -> str:
        code = (
            "import structlog; from services.settings import get_settings;"
            "from services.logging import configure_logging, set_request_id;"
            "configure_logging(get_settings()); set_request_id('rid-1');"
            "structlog.get_logger('t').info('hello', referral_id='r-1')"
        )
        environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        environment.pop("LOG_JSON", None)
        environment.update(env)
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stderr.strip().splitlines()[-1]

    def test_production_logs_are_json_with_the_request_id(self) -> None:
        line = self.run_logging(
            ENVIRONMENT="production", JWT_SECRET="p" * 40, DATABASE_URL="postgresql://x/y"
        )
        parsed = json.loads(line)
        assert (parsed["event"], parsed["request_id"], parsed["level"]) == (
            "hello",
            "rid-1",
            "info",
        )

    def test_development_logs_are_readable_lines_with_the_request_id(self) -> None:
        line = self.run_logging(ENVIRONMENT="development")
        assert "hello" in line
        assert "request_id=rid-1" in line
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
