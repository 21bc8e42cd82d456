"""What parsing an address gives: the current province and ward, the old units named, and how sure it is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AddressStatus(StrEnum):
    """How far the text was resolved into today's units."""

    EXACT = "exact"  # one current ward (and so one province)
    AMBIGUOUS = "ambiguous"  # several current wards or provinces fit: see ``candidates``
    PROVINCE_ONLY = "province_only"  # the province is known, the ward is not
    UNRECOGNISED = "unrecognised"  # no province or ward found


@dataclass(frozen=True, slots=True)
class Place:
    """A current province and, when known, one of its wards (codes of the General Statistics Office)."""

    province_code: str
    province_name: str
    ward_code: str | None = None
    ward_name: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """A free-text address read into today's units (34 provinces, communes/wards, no districts).

    ``province_*`` and ``ward_*`` are current units (full names such as "Phường Sài Gòn"); ``old_*_code`` are
    the pre-July-2025 units the text names, when it names them; ``candidates`` lists the current places that fit
    when the status is ``ambiguous``; ``street`` is the text before the recognised units.
    """

    raw: str
    street: str
    status: AddressStatus
    mapping_version: str
    province_code: str | None = None
    province_name: str | None = None
    ward_code: str | None = None
    ward_name: str | None = None
    old_province_code: str | None = None
    old_district_code: str | None = None
    old_ward_code: str | None = None
    candidates: tuple[Place, ...] = ()

    @property
    def place_key(self) -> str | None:
        """"province-ward" codes when one current ward is known, else None: equal keys mean the same ward."""
        if self.status is not AddressStatus.EXACT:
            return None
        return f"{self.province_code}-{self.ward_code}"
