"""Segment API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.customers.models import CustomerProfile
from xuyen.segments.models import Segment
from xuyen.segments.rules import parse_rule
from xuyen.segments.text import describe


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    definition: dict[str, Any]


class SegmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    definition: dict[str, Any] | None = None


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]


class MemberOut(BaseModel):
    profile_id: int
    name: str
    phones: list[str]
    emails: list[str]
    province_code: str

    @classmethod
    def of(cls, row: CustomerProfile) -> MemberOut:
        return cls(profile_id=row.profile_id, name=row.display_name, phones=list(row.phones or []),
                   emails=list(row.emails or []), province_code=row.province_code)


class SegmentOut(BaseModel):
    id: int
    name: str
    description: str
    definition: dict[str, Any]
    text_vi: str
    text_en: str
    member_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None

    @classmethod
    def of(cls, segment: Segment) -> SegmentOut:
        rule = parse_rule(segment.definition)
        return cls(id=segment.id, name=segment.name, description=segment.description, definition=segment.definition,
                   text_vi=describe(rule, language="vi"), text_en=describe(rule, language="en"),
                   member_count=segment.member_count, created_by=segment.created_by, created_at=segment.created_at,
                   updated_at=segment.updated_at, refreshed_at=segment.refreshed_at)


class PreviewOut(BaseModel):
    count: int
    sample: list[MemberOut]
    text_vi: str
    text_en: str
