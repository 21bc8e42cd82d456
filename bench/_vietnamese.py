"""Made-up Vietnamese customers with the duplicates shops really get, for the identity benchmarks.

Each person gets one record, and some get a second or third one typed elsewhere: without diacritics or in
capitals, with the name in another order (given name first, as marketplaces and forms often have it), the
phone in a clerk's format (spaces, dots, +84, the pre-2018 11-digit prefix), a typo in the given name, the
birth date missing or with day and month swapped, another e-mail, an abbreviated address. Families share a
phone: parents and children each get their own record with the family's number. Phones are normalised
with the identity domain's normaliser, as ingestion does.

``people(count)`` returns records and the true duplicate pairs; the same seed gives the same people.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from xuyen.customers.duplicates.records import MatchRecord, match_record
from xuyen.identity.names import fold_name
from xuyen.identity.phones import OLD_MOBILE_PREFIXES, normalise_phone

# Family names with roughly their share of the population; the rest share what is left.
FAMILY = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 4), ("Phan", 4.5),
          ("Vũ", 3.9), ("Võ", 3), ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1),
          ("Lý", 0.5), ("Đào", 0.8), ("Đoàn", 0.7), ("Trịnh", 0.6), ("Lâm", 0.5), ("Mai", 0.5), ("Tạ", 0.3),
          ("Lương", 0.4), ("Cao", 0.4), ("Tô", 0.3), ("Châu", 0.3), ("Quách", 0.2), ("Hà", 0.5), ("La", 0.2)]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh", "Bảo", "Phương", "Hoài", "Mỹ", "Diệu", "Khánh"]
MIDDLE_MALE = ["Văn", "Minh", "Đức", "Quang", "Hữu", "Thanh", "Công", "Bảo", "Gia", "Anh", "Trọng", "Xuân"]
GIVEN_FEMALE = ["Lan", "Hoa", "Hương", "Mai", "Phương", "Linh", "Trang", "Thảo", "Vy", "Yến", "Nhung", "Ngân", "Hà",
                "Anh", "Hằng", "Huyền", "Trinh", "My", "Nhi", "Quỳnh", "Loan", "Tâm", "Diệp", "Châu", "Giang",
                "Uyên", "Oanh", "Thủy", "Hạnh", "Duyên", "Thư", "Ly", "Vân", "Xuân", "Tuyết", "Nga", "Dung"]
GIVEN_MALE = ["Minh", "Tuấn", "Dũng", "Nam", "Sơn", "Hải", "Khoa", "Quân", "Phúc", "Hiếu", "Long", "Huy", "Đạt",
              "Thắng", "Trung", "Kiên", "Tùng", "Hùng", "Cường", "Phong", "Bình", "Tài", "Vinh", "Khang", "Lộc",
              "Toàn", "Thành", "Hoàng", "Đức", "An", "Bảo", "Duy", "Hưng", "Nghĩa", "Quang", "Thịnh", "Việt"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ", "Lê Duẩn",
           "Cách Mạng Tháng Tám", "Nguyễn Trãi", "Phan Đình Phùng", "Võ Văn Tần", "Hoàng Diệu", "Bạch Đằng",
           "Nguyễn Thị Minh Khai", "Pasteur", "Lạc Long Quân", "Âu Cơ", "Trường Chinh", "Quang Trung", "Hùng Vương"]
PROVINCES = [("01", "Hà Nội"), ("79", "TP. Hồ Chí Minh"), ("48", "Đà Nẵng"), ("31", "Hải Phòng"),
             ("92", "Cần Thơ"), ("46", "Huế"), ("56", "Khánh Hòa"), ("75", "Đồng Nai"), ("74", "Bình Dương"),
             ("38", "Thanh Hóa"), ("40", "Nghệ An"), ("66", "Đắk Lắk")]
MOBILE_PREFIXES = ["090", "091", "093", "094", "096", "097", "098", "086", "088", "089", "070", "076", "077", "078",
                   "079", "081", "082", "083", "084", "085", "032", "033", "034", "035", "036", "037", "038", "039"]
NEW_TO_OLD = {new: old for old, new in OLD_MOBILE_PREFIXES.items()}
MAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "fpt.vn"]


@dataclass(frozen=True)
class Person:
    """One real customer before anybody types them in."""

    family: str
    middle: str
    given: str
    born: date
    phone: str  # national format, 10 digits
    email: str
    street: str
    number: int
    ward: str
    province: tuple[str, str]


def _family(rng: random.Random) -> str:
    names, weights = zip(*FAMILY, strict=True)
    return rng.choices(names, weights=weights)[0]


def _person(rng: random.Random, *, family: str | None = None, phone: str | None = None,
            address: tuple[str, int, str, tuple[str, str]] | None = None, born_from: int = 1950,
            born_to: int = 2006) -> Person:
    female = rng.random() < 0.55
    family = family or _family(rng)
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    born = date(born_from, 1, 1) + timedelta(days=rng.randrange((born_to - born_from) * 365))
    phone = phone or rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10_000_000):07d}"
    user = fold_name(f"{given}{family}").replace(" ", "") + str(rng.randrange(100, 9999))
    street, number, ward, province = address or (rng.choice(STREETS), rng.randrange(1, 400),
                                                  "", rng.choice(PROVINCES))
    if not address:  # ward codes are unique in the whole country: the province's code, then the ward's
        ward = f"{province[0]}{rng.randrange(1, 30):03d}"
    return Person(family=family, middle=middle, given=given, born=born, phone=phone,
                  email=f"{user}@{rng.choice(MAIL_DOMAINS)}", street=street, number=number, ward=ward,
                  province=province)


def clerk_phone(rng: random.Random, phone: str) -> str:
    """The phone as somebody typed it: spaces, dots, +84, 84, or the old 11-digit prefix."""
    style = rng.randrange(6)
    if style == 0:
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    if style == 1:
        return f"+84 {phone[1:3]} {phone[3:6]} {phone[6:]}"
    if style == 2:
        return f"{phone[:4]}.{phone[4:7]}.{phone[7:]}"
    if style == 3:
        return "84" + phone[1:]
    if style == 4 and phone[:3] in NEW_TO_OLD:
        return NEW_TO_OLD[phone[:3]] + phone[3:]
    return phone


def _typo(rng: random.Random, word: str) -> str:
    """One letter dropped, doubled or swapped with the next."""
    if len(word) < 3:
        return word
    at = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:at] + word[at + 1:]
    if kind == 1:
        return word[:at] + word[at] + word[at:]
    return word[:at] + word[at + 1] + word[at] + word[at + 2:]


def _name(rng: random.Random, person: Person, *, copy: bool) -> str:
    given = _typo(rng, person.given) if copy and rng.random() < 0.08 else person.given
    words = [person.family, person.middle, given]
    if copy and rng.random() < 0.25:
        words = [given, person.middle, person.family] if rng.random() < 0.6 else [given, person.family]
    name = " ".join(words)
    if copy and rng.random() < 0.45:
        name = fold_name(name).title()
    if copy and rng.random() < 0.15:
        name = name.upper()
    return name


def _address(rng: random.Random, person: Person, *, copy: bool) -> str:
    number = int(person.ward[2:])
    ward = f"P.{number}" if copy and rng.random() < 0.3 else f"Phường {number}"
    text = f"{person.number} {person.street}, {ward}, {person.province[1]}"
    return fold_name(text) if copy and rng.random() < 0.4 else text


def _record(rng: random.Random, profile_id: int, person: Person, *, copy: bool, normalise: bool) -> MatchRecord:
    born: date | None = person.born
    if copy and rng.random() < 0.2:
        born = None
    elif copy and rng.random() < 0.03 and person.born.day <= 12:
        born = date(person.born.year, person.born.day, person.born.month)
    if normalise:
        phones = [ident.value for ident in normalise_phone(clerk_phone(rng, person.phone))]
    else:  # what normalising gives, without the cost of parsing (for the million-profile runs)
        phones = ["+84" + person.phone[1:]]
    if copy and rng.random() < 0.35:
        phones = [] if rng.random() < 0.5 else [f"+849{rng.randrange(100_000_000):08d}"]
    emails = [person.email] if not copy or rng.random() < 0.5 else []
    if copy and emails and rng.random() < 0.3:
        emails = [person.email.split("@")[0] + "@" + rng.choice(MAIL_DOMAINS)]
    address = _address(rng, person, copy=copy) if not copy or rng.random() < 0.7 else ""
    province, ward = (person.province[0], person.ward) if rng.random() < 0.8 else ("", "")
    return match_record(profile_id=profile_id, display_name=_name(rng, person, copy=copy), birth_date=born,
                        phones=phones, emails=emails, address=address, province_code=province, ward_code=ward)


def _households(rng: random.Random, count: int) -> Iterator[list[Person]]:
    """Households of people: most alone, some families of two to four sharing one phone and address."""
    made = 0
    while made < count:
        if rng.random() < 0.12:
            head = _person(rng, born_from=1950, born_to=1980)
            shared = (head.street, head.number, head.ward, head.province)
            size = rng.randrange(2, 5)
            family = [head] + [_person(rng, family=head.family, phone=head.phone, address=shared, born_from=1975,
                                       born_to=2006) for _ in range(size - 1)]
        else:
            family = [_person(rng)]
        made += len(family)
        yield family


def people(count: int, *, duplicate_share: float = 0.2, seed: int = 2026,
           normalise: bool = True) -> tuple[list[MatchRecord], set[tuple[int, int]]]:
    """``count`` records of made-up customers, ``duplicate_share`` of the people typed in more than once.

    With ``normalise`` False the clerk formats are skipped and phones are written in E.164 directly.
    """
    rng = random.Random(seed)
    records: list[MatchRecord] = []
    truth: set[tuple[int, int]] = set()
    for household in _households(rng, count):
        for person in household:
            ids = [len(records) + 1]
            records.append(_record(rng, ids[0], person, copy=False, normalise=normalise))
            copies = (1 if rng.random() < 0.8 else 2) if rng.random() < duplicate_share else 0
            for _ in range(copies):
                ids.append(len(records) + 1)
                records.append(_record(rng, ids[-1], person, copy=True, normalise=normalise))
            truth.update((a, b) for index, a in enumerate(ids) for b in ids[index + 1:])
        if len(records) >= count:
            break
    return records[:count], {(a, b) for a, b in truth if b <= count}
