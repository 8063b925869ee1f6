"""Turn request bodies into validated models, or a 422 listing every failing field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from services.errors import FieldError, Unprocessable

M = TypeVar("M", bound=BaseModel)

# Paths echo the caller's own keys: bounded, and made safe to render as UTF-8.
_MAX_PART = 80
_MAX_ERRORS = 200
NOT_A_BODY = "not a valid body"


def _part(value: object) -> str:
    text = str(value)[:_MAX_PART]
    return text.encode("utf-8", "replace").decode("utf-8")


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    out: list[FieldError] = []
    for error in errors:
        path = ".".join(_part(p) for p in error["loc"]) or "body"
        out.append(FieldError(path=path, reason=_part_reason(error["msg"])))
        if len(out) >= _MAX_ERRORS:
            break
    return out


def _part_reason(message: str) -> str:
    return message.removeprefix("Value error, ").encode("utf-8", "replace").decode("utf-8")


def validate_body(
    model: type[M], body: object, *, context: dict[str, Any], error: type[Unprocessable]
) -> M:
    """`model.model_validate(body, context=...)`; a 422 with every failing field otherwise."""
    try:
        return model.model_validate(body, context=context)
    except ValidationError as exc:
        raise error(fields=field_errors(exc.errors(include_input=False))) from None
    except (ValueError, TypeError, RecursionError):
        # Pathological input pydantic refuses outright (e.g. nesting too deep).
        raise error(fields=[FieldError(path="body", reason=NOT_A_BODY)]) from None
