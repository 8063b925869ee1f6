"""docker/ stays consistent with the tested commands: same entry point, commands, settings."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services import app as app_module
from services.cli import _parser
from services.registry import SERVICES
from services.settings import FrontdoorSettings
from tests.database import ROOT

DOCKER = ROOT / "docker"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def frontdoor_services() -> dict[str, dict[str, Any]]:
    return {
        name: spec
        for name, spec in compose()["services"].items()
        if spec.get("image", "").startswith("frontdoor")
    }


def known_setting_names() -> set[str]:
    """Every environment name some frontdoor settings class reads."""
    names: set[str] = set()
    classes: list[type[FrontdoorSettings]] = [FrontdoorSettings]
    for service in SERVICES:
        module = importlib.import_module(f"{service}.settings")
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, FrontdoorSettings)
        ]
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field_name, field in cls.model_fields.items():
            if isinstance(field.validation_alias, str):
                names.add(field.validation_alias.upper())
            else:
                names.add(f"{prefix}{field_name}".upper())
    return names


class TestCompose:
    def test_every_process_has_a_service(self) -> None:
        commands = {tuple(spec["command"][:2]) for spec in frontdoor_services().values()}
        assert ("migrate",) in {c[:1] for c in commands}
        for name in SERVICES:
            assert ("api", name) in commands
            assert ("worker", name) in commands

    @pytest.mark.parametrize("name", sorted(frontdoor_services()))
    def test_each_command_is_accepted_by_the_cli(self, name: str) -> None:
        command = frontdoor_services()[name]["command"]
        args = _parser().parse_args(command)  # exits (fails the test) on an unknown command
        assert args.command == command[0]

    @pytest.mark.parametrize("name", sorted(frontdoor_services()))
    def test_each_environment_name_is_a_real_setting(self, name: str) -> None:
        environment = frontdoor_services()[name].get("environment", {})
        unknown = sorted(set(environment) - known_setting_names())
        assert unknown == []

    def test_the_apis_check_readiness_and_wait_for_migrations(self) -> None:
        for name, spec in frontdoor_services().items():
            if spec["command"][0] != "api":
                continue
            assert "/readyz" in " ".join(spec["healthcheck"]["test"]), name
            assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert "--host" in spec["command"]

    def test_migrate_runs_once_after_postgres_is_healthy(self) -> None:
        migrate = compose()["services"]["migrate"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "healthcheck" in compose()["services"]["postgres"]

    def test_the_database_url_points_at_the_compose_postgres(self) -> None:
        for spec in frontdoor_services().values():
            assert "@postgres:5432/" in spec["environment"]["DATABASE_URL"]
            assert spec["environment"]["ENVIRONMENT"] == "production"


class TestDockerfile:
    def text(self) -> str:
        return (DOCKER / "Dockerfile").read_text()

    def test_the_entry_point_is_the_tested_command(self) -> None:
        assert 'ENTRYPOINT ["frontdoor"]' in self.text()
        pyproject = (ROOT / "pyproject.toml").read_text()
        assert 'frontdoor = "services.cli:main"' in pyproject

    def test_it_runs_as_a_non_root_user(self) -> None:
        users = re.findall(r"^USER (\S+)", self.text(), flags=re.MULTILINE)
        assert users
        assert users[-1].split(":")[0] not in {"root", "0"}

    def test_dependencies_come_from_the_lock_file(self) -> None:
        assert self.text().count("uv sync --locked") == 2

    def test_every_package_is_copied_into_the_image(self) -> None:
        for package in ("services", *SERVICES, "migrations"):
            assert f"COPY {package} ./{package}" in self.text()
        assert "COPY alembic.ini ./" in self.text()

    def test_the_code_stays_beside_its_migrations(self) -> None:
        # services.app finds migrations/ next to the package: a non-editable install would
        # move the package into site-packages, away from them.
        assert "--no-editable" not in self.text()
        assert (Path(app_module.__file__).parent.parent / "migrations").is_dir()
