"""Pydantic shapes of the council's configuration: term dates and alert contacts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator


class CouncilTermIn(BaseModel):
    """One term or half term: its first and last school day (both inclusive)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=1, max_length=100, examples=["Autumn 1"])
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> CouncilTermIn:
        if self.end < self.start:
            raise ValueError("a term ends on or after its start")
        return self


class CouncilTermsIn(BaseModel):
    """The whole published calendar (it replaces the one before); a few years at most."""

    model_config = ConfigDict(extra="forbid")
    terms: list[CouncilTermIn] = Field(max_length=60)


class CouncilTermRead(BaseModel):
    name: str | None
    start: date
    end: date


class CouncilTermsRead(BaseModel):
    council_id: str
    terms: list[CouncilTermRead]


class AlertContactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    duty_manager_email: EmailStr


class AlertContactsRead(BaseModel):
    council_id: str
    # The council's own address, else the service's configured default.
    duty_manager_email: str
    configured: bool
