"""docs/configuration.md is generated from the settings classes (`make docs` regenerates it)."""

from __future__ import annotations

from services.settings import FrontdoorSettings
from services.tools.config_docs import DOC_PATH, render


def test_committed_configuration_page_matches_the_settings() -> None:
    assert DOC_PATH.read_text() == render(), "run `make docs` and commit docs/configuration.md"


def test_every_platform_setting_is_explained() -> None:
    page = render()
    for name, info in FrontdoorSettings.model_fields.items():
        env = info.validation_alias if isinstance(info.validation_alias, str) else name.upper()
        row = next(line for line in page.splitlines() if line.startswith(f"| `{env}` |"))
        assert not row.endswith("|  |"), f"{env} has no explanation in the settings class"
