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


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_on_the_database_documents_its_503(name: str) -> None:
    """A partner system reads in the document that a 503 is retried after Retry-After."""
    doc = json.loads(render(name))
    checked = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            unavailable = operation["responses"].get("503")
            if not operation.get("security") and path != "/readyz":
                assert unavailable is None, (method, path)  # never touches the database
                continue
            assert unavailable is not None, (method, path)
            assert "Retry-After" in unavailable["headers"], (method, path)
            checked += 1
            if path == "/readyz":
                continue
            schema = unavailable["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}
            assert "Idempotency-Key" in unavailable["description"]
    assert checked > 1
