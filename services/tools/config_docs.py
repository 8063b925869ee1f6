"""Generate `docs/configuration.md` from the settings classes; `--write` refreshes it.

Each setting's explanation is its `Field(description=...)` or, failing that, the comment lines
written directly above it in the class: the code is the one place a setting is explained.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from services.registry import load
from services.settings import FrontdoorSettings

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

# (title, import string of the class): the platform first, then each service.
SETTINGS_CLASSES = (
    ("Platform (every process; bare names)", "services.settings:FrontdoorSettings"),
    ("Referral API (`REFERRAL_`)", "referral_api.settings:ReferralSettings"),
    ("Triage (`TRIAGE_`)", "triage.settings:TriageSettings"),
    ("Notifications (`NOTIFICATIONS_`)", "notifications.settings:NotificationsSettings"),
)

HEADER = """# Configuration

Every setting, read from the environment. Generated from the settings classes by
`python -m services.tools.config_docs --write` (`make docs`); a test fails when this page and
the code disagree. Platform settings use their bare names so one environment configures every
process; each service's own settings carry its prefix, and a service inherits the platform's.
"""


def _comments_above_fields(cls: type) -> dict[str, str]:
    """The `#` comment block directly above each annotated field in the class body."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    found: dict[str, str] = {}
    previous: tuple[int, str] = (-1, "")  # (last line, comment) of the field just above
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            block: list[str] = []
            row = node.lineno - 2
            while row >= 0 and lines[row].strip().startswith("#"):
                block.insert(0, lines[row].strip().lstrip("#").strip())
                row -= 1
            # A field written on the line after another, with no comment of its own, shares
            # that field's comment ("the period and the batch size").
            comment = " ".join(block) or (previous[1] if previous[0] == node.lineno - 1 else "")
            found[node.target.id] = comment
            previous = (node.end_lineno or node.lineno, comment)
    return found


def _env_name(cls: type[FrontdoorSettings], name: str, info: FieldInfo) -> str:
    alias = info.validation_alias
    if isinstance(alias, str):
        return alias
    return f"{cls.model_config.get('env_prefix', '')}{name}".upper()


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "*(required)*"
    else:
        value = info.default
    if value is None or value == () or value == "":
        return "*(unset)*"
    if isinstance(value, tuple | list | frozenset | set):
        value = ",".join(str(v) for v in value)
    if isinstance(value, str) and ("secret" in value or len(value) > 40):
        return "*(a development value)*"
    return f"`{value}`"


def _table(cls: type[FrontdoorSettings], own_only: bool) -> list[str]:
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if isinstance(klass, type) and issubclass(klass, FrontdoorSettings):
            comments.update(_comments_above_fields(klass))
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, info in cls.model_fields.items():
        if own_only and name in FrontdoorSettings.model_fields:
            continue
        meaning = (info.description or comments.get(name, "")).replace("|", "\\|")
        rows.append(f"| `{_env_name(cls, name, info)}` | {_default(info)} | {meaning} |")
    return rows


def render() -> str:
    parts = [HEADER]
    for title, target in SETTINGS_CLASSES:
        cls = load(target)
        parts += [f"## {title}", "", *_table(cls, own_only=cls is not FrontdoorSettings), ""]
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str]) -> int:
    if "--write" in argv:
        DOC_PATH.write_text(render())
        print(f"wrote {DOC_PATH.name}")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
