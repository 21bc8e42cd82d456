"""Amounts from the marketplaces become whole đồng exactly, and an amount that is not a number stops the order
rather than booking it at 0."""

from __future__ import annotations

import pytest

from xuyen.channels.base import PayloadInvalid
from xuyen.channels.marketplace import whole_dong


@pytest.mark.parametrize(("value", "dong"), [(199000, 199000), (199000.0, 199000), ("199000.00", 199000),
                                             ("1,250,000", 1250000), ("1,250,000.50", 1250001), (None, 0), ("", 0),
                                             ("0.49", 0)])
def test_amounts_in_every_form_the_platforms_write_them(value: object, dong: int) -> None:
    assert whole_dong(value, label="Shopee") == dong


@pytest.mark.parametrize("value", ["abc", "1.2.3", "₫100", "NaN?", [1]])
def test_an_amount_that_is_not_a_number_is_refused(value: object) -> None:
    with pytest.raises(PayloadInvalid, match="Lazada sent an amount"):
        whole_dong(value, label="Lazada")
