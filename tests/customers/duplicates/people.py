"""Made-up Vietnamese customers for the duplicate tests: a seeded crowd the pairs under test hide in."""

from __future__ import annotations

import random
from datetime import date, timedelta

from xuyen.customers.duplicates.records import MatchRecord, match_record

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý"]
MIDDLE = ["Thị", "Văn", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Quang", "Bảo", "Xuân", "Kim"]
GIVEN = ["Lan", "Hoa", "Minh", "Tuấn", "Hương", "Dũng", "Mai", "Phương", "Nam", "Linh", "Trang", "Sơn", "Hải",
         "Thảo", "Vy", "Khoa", "Quân", "Yến", "Nhung", "Phúc", "Tâm", "Hiếu", "Long", "Ngân"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ",
           "Cách Mạng Tháng 8"]
PROVINCES = ["01", "79", "48", "31", "92"]


def crowd(count: int, *, seed: int = 7, first_id: int = 1000) -> list[MatchRecord]:
    """``count`` different people with names, birth dates, phones, e-mails and addresses."""
    rng = random.Random(seed)
    people = []
    for index in range(count):
        family, middle, given = rng.choice(FAMILY), rng.choice(MIDDLE), rng.choice(GIVEN)
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
        people.append(match_record(
            profile_id=first_id + index, display_name=f"{family} {middle} {given}", birth_date=born,
            phones=[f"+8491{rng.randrange(10_000_000):07d}"],
            emails=[f"{given.lower()}.{index}@example.vn"] if rng.random() < 0.5 else [],
            address=f"{rng.randrange(1, 300)} {rng.choice(STREETS)}", province_code=rng.choice(PROVINCES)))
    return people
