"""Vietnamese personal names for demo people, drawn from a seeded random generator.

A Vietnamese name is family name + middle name + given name ("Nguyễn Thị Lan"); people are
addressed by the given name. Family names are weighted roughly by how common they are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Gender = Literal["female", "male"]

FAMILY_NAMES: tuple[tuple[str, int], ...] = (
    ("Nguyễn", 31), ("Trần", 11), ("Lê", 10), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 5), ("Phan", 5),
    ("Vũ", 4), ("Võ", 4), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 1), ("Ngô", 1), ("Dương", 1), ("Lý", 1),
)

MIDDLE_NAMES: dict[Gender, tuple[str, ...]] = {
    "female": ("Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Bảo", "Khánh", "Diệu",
               "Thùy"),
    "male": ("Văn", "Văn", "Minh", "Đức", "Quốc", "Hoàng", "Thành", "Hữu", "Gia", "Tuấn", "Công", "Xuân"),
}

GIVEN_NAMES: dict[Gender, tuple[str, ...]] = {
    "female": ("Lan", "Hương", "Linh", "Trang", "Hà", "Ngọc", "Anh", "Thảo", "Mai", "Hạnh", "Huyền", "Vy",
               "Nhung", "Chi", "Hằng", "Yến", "Quỳnh", "Trâm", "Nhi", "Thư", "Giang", "My"),
    "male": ("Anh", "Minh", "Hùng", "Dũng", "Tuấn", "Nam", "Long", "Quân", "Huy", "Khoa", "Phong", "Sơn",
             "Thắng", "Trung", "Bảo", "Khánh", "Đạt", "Hiếu", "Phúc", "Tài"),
}


@dataclass(frozen=True)
class PersonName:
    """A Vietnamese full name in its parts."""

    family: str
    middle: str
    given: str
    gender: Gender

    @property
    def full(self) -> str:
        """The name as it is written: family, middle, given."""
        return f"{self.family} {self.middle} {self.given}"


def person_name(rng: random.Random, *, gender: Gender | None = None) -> PersonName:
    """A plausible Vietnamese name (of ``gender``, or a random one)."""
    chosen: Gender = gender if gender is not None else rng.choice(("female", "male"))
    family = rng.choices([name for name, _ in FAMILY_NAMES], weights=[w for _, w in FAMILY_NAMES])[0]
    while True:
        middle = rng.choice(MIDDLE_NAMES[chosen])
        given = rng.choice(GIVEN_NAMES[chosen])
        if middle != given:
            return PersonName(family=family, middle=middle, given=given, gender=chosen)


def distinct_names(rng: random.Random, count: int) -> list[PersonName]:
    """``count`` names, no two with the same full name."""
    names: list[PersonName] = []
    seen: set[str] = set()
    while len(names) < count:
        name = person_name(rng)
        if name.full not in seen:
            seen.add(name.full)
            names.append(name)
    return names
