"""The committed OpenAPI documents match the code (`make openapi` regenerates them)."""

from __future__ import annotations

import json

import pytest

from services.registry import SERVICES
from services.tools.openapi_docs import OPENAPI_DIR, render


@pytest.mark.parametrize("name", SERVICES)
def test_committed_openapi_matches_the_code(name: str) -> None:
    committed = (OPENAPI_DIR / f"{name}.json").read_text()
    assert json.loads(committed) == json.loads(render(name)), "run `make openapi` and commit"


def test_paths_and_operation_ids_are_unique_across_services() -> None:
    paths: list[str] = []
    operation_ids: list[str] = []
    for name in SERVICES:
        doc = json.loads(render(name))
        for path, item in doc["paths"].items():
            if path.startswith("/v1"):
                paths.append(path)
                operation_ids += [op["operationId"] for op in item.values()]
    assert len(paths) == len(set(paths))
    assert len(operation_ids) == len(set(operation_ids))
