"""Domain errors of the management information (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import NotFound, Unprocessable


class BadPeriod(Unprocessable):
    detail = "The report period is not valid."


class CensusReturnInvalid(Unprocessable):
    detail = (
        "The census return breaks the DfE's validation rules: fix every listed record "
        "(GET /v1/exports/cin-referrals/validation lists them) before exporting."
    )


class BadCollectionYear(Unprocessable):
    detail = "The collection year is not valid."


class AssessmentNotFound(NotFound):
    detail = "No such contact with an assessment."


class FactorsInvalid(Unprocessable):
    detail = "The assessment factors are not valid for this contact."


class DisabilitiesInvalid(Unprocessable):
    detail = "The disability codes are not valid for this child on this contact."


class ClosureInvalid(Unprocessable):
    detail = "The closure is not valid for this child's episode on this contact."
