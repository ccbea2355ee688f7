"""Pieces shared by the apps' validated JSON definitions (segments, journeys, campaigns)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A definition part that refuses keys it does not know (a misspelt key is an error, not ignored)."""
    model_config = ConfigDict(extra="forbid")


class Duration(Strict):
    """A length of time as days, hours and minutes (a journey's wait, a campaign's lateness)."""
    days: int = Field(0, ge=0, le=3650)
    hours: int = Field(0, ge=0, le=100_000)
    minutes: int = Field(0, ge=0, le=1_000_000)

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)
