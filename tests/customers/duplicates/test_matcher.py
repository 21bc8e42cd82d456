"""The matcher on Vietnamese cases: diacritics, name order, clerk phone formats, shared family phones, birth dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tests.customers.duplicates.people import crowd
from xuyen.customers.duplicates.matcher import find_duplicates
from xuyen.customers.duplicates.records import MatchRecord, match_record, records_table
from xuyen.identity.phones import normalise_phone

THRESHOLD = 0.9


def e164(raw: str) -> list[str]:
    """A phone field as the identity domain normalises it."""
    return [identifier.value for identifier in normalise_phone(raw)]


def pairs_among(*records: MatchRecord) -> dict[tuple[int, int], float]:
    """The pairs found among ``records`` hidden in a crowd of 80 other people, with their scores."""
    found = find_duplicates([*crowd(80), *records], threshold=THRESHOLD)
    return {(pair.left_id, pair.right_id): pair.score for pair in found.pairs}


def test_diacritics_name_order_and_phone_formats_are_one_customer() -> None:
    shop = match_record(profile_id=1, display_name="Nguyễn Thị Minh Khai", birth_date=date(1990, 5, 1),
                        phones=e164("0912 345 678"), address="12 Lê Lợi, Bến Nghé")
    marketplace = match_record(profile_id=2, display_name="KHAI NGUYEN THI MINH", birth_date="1990-05-01",
                               phones=e164("+84 (0) 912.345.678"), address="12 Le Loi Ben Nghe")
    found = pairs_among(shop, marketplace)
    assert found.get((1, 2), 0) >= 0.99


def test_the_letter_d_with_stroke_folds_to_d() -> None:
    store = match_record(profile_id=1, display_name="Đặng Đức Đạt", birth_date=date(1985, 3, 9),
                         emails=["dat.dang@gmail.com"])
    web = match_record(profile_id=2, display_name="Dang Duc Dat", birth_date=date(1985, 3, 9),
                       emails=["dat.dang@yahoo.com"])
    assert store.family_name == web.family_name == "dang"
    assert pairs_among(store, web).get((1, 2), 0) >= THRESHOLD


def test_a_family_sharing_one_phone_is_not_one_customer() -> None:
    phone = e164("0903 111 222")
    mother = match_record(profile_id=1, display_name="Lê Thị Hoa", birth_date=date(1965, 8, 2), phones=phone,
                          address="45 Trần Hưng Đạo")
    son = match_record(profile_id=2, display_name="Lê Văn Nam", birth_date=date(1992, 1, 20), phones=phone,
                       address="45 Trần Hưng Đạo")
    daughter = match_record(profile_id=3, display_name="Lê Thị Lan", phones=phone)
    found = pairs_among(mother, son, daughter)
    assert not {(1, 2), (1, 3), (2, 3)} & set(found)


def test_a_shared_phone_alone_never_makes_a_suggestion() -> None:
    phone = e164("0987 654 321")
    found = pairs_among(match_record(profile_id=1, phones=phone), match_record(profile_id=2, phones=phone))
    assert (1, 2) not in found


def test_same_common_name_with_different_birth_dates_is_two_people() -> None:
    older = match_record(profile_id=1, display_name="Nguyễn Văn An", birth_date=date(1962, 4, 30),
                         phones=e164("0912 000 111"))
    younger = match_record(profile_id=2, display_name="Nguyễn Văn An", birth_date=date(1996, 11, 2),
                           phones=e164("0977 222 333"))
    assert (1, 2) not in pairs_among(older, younger)


def test_a_typo_in_the_birth_date_still_matches_with_the_same_phone() -> None:
    first = match_record(profile_id=1, display_name="Phạm Thu Trang", birth_date=date(1994, 7, 15),
                         phones=e164("0909 876 543"))
    second = match_record(profile_id=2, display_name="Pham Thu Trang", birth_date=date(1994, 7, 16),
                          phones=e164("090 9876 543"))
    assert pairs_among(first, second).get((1, 2), 0) >= THRESHOLD


@pytest.mark.parametrize("count", [0, 1])
def test_too_few_profiles_find_nothing(count: int) -> None:
    records = crowd(count)
    summary = find_duplicates(records, threshold=THRESHOLD)
    assert summary.pairs == [] and summary.record_count == count


def test_reasons_name_every_field_with_its_level() -> None:
    first = match_record(profile_id=1, display_name="Võ Minh Khoa", birth_date=date(2000, 2, 29),
                         emails=["khoa@example.vn"])
    second = match_record(profile_id=2, display_name="Vo Minh Khoa", birth_date=date(2000, 2, 29),
                          emails=["khoa@example.vn"])
    [pair] = [pair for pair in find_duplicates([*crowd(80), first, second], threshold=THRESHOLD).pairs
              if (pair.left_id, pair.right_id) == (1, 2)]
    assert pair.reasons["given_name"].level == "same" and pair.reasons["given_name"].weight > 0
    assert pair.reasons["birth_date"].level == "same"
    assert pair.reasons["email"].level == "same"
    assert pair.reasons["phone"].level == "missing" and pair.reasons["phone"].weight == 0
    assert pair.score >= THRESHOLD and pair.match_weight > 0


def test_scores_do_not_change_between_runs() -> None:
    records = crowd(1200, seed=11)
    twins = [match_record(profile_id=1, display_name="Hồ Ngọc Yến", birth_date=date(1988, 12, 1)),
             match_record(profile_id=2, display_name="Ho Ngoc Yen", birth_date=date(1988, 12, 1))]
    first = find_duplicates([*records, *twins], threshold=0.5)
    second = find_duplicates([*twins, *records], threshold=0.5)
    assert first.estimated_u
    assert [(p.left_id, p.right_id, round(p.score, 9)) for p in first.pairs] == \
        [(p.left_id, p.right_id, round(p.score, 9)) for p in second.pairs]


def test_records_table_keeps_empty_values_as_nulls() -> None:
    table = records_table([match_record(profile_id=5)])
    row = table.to_pylist()[0]
    assert row["unique_id"] == 5
    assert row["given_name"] is None and row["phones"] is None and row["birth_date"] is None


def test_a_shop_that_records_no_birth_dates_is_still_matched() -> None:
    """Enough profiles to estimate the model, none with a birth date (as many shops keep them): the rules
    that would learn from birth dates are skipped and their fields keep the documented priors."""
    people = [replace(person, birth_date="") for person in crowd(1_200)]
    twin = replace(people[0], profile_id=1, address=people[0].address.upper())
    found = find_duplicates([*people, twin], threshold=THRESHOLD)
    assert found.estimated_u
    assert any({pair.left_id, pair.right_id} == {1, people[0].profile_id} for pair in found.pairs)
