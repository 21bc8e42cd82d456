"""SMS counting: GSM-7 and UCS-2, the extension table, part boundaries, and stripping Vietnamese accents."""

from __future__ import annotations

from xuyen.journeys.templates.sms import GSM7, UCS2, count_sms, sms_report, sms_text


def test_plain_text_is_gsm7_160_in_one_part_and_153_per_part_after() -> None:
    assert (count_sms("a" * 160).encoding, count_sms("a" * 160).parts, count_sms("a" * 160).remaining) == (GSM7, 1, 0)
    two = count_sms("a" * 161)
    assert (two.parts, two.per_part, two.remaining) == (2, 153, 145)
    assert count_sms("a" * 306).parts == 2
    assert count_sms("a" * 307).parts == 3
    assert count_sms("").parts == 0


def test_extension_characters_count_twice_and_never_straddle_two_parts() -> None:
    assert count_sms("€" * 80).length == 160 and count_sms("€" * 80).parts == 1
    assert count_sms("[" * 81).parts == 2
    # 152 plain then one escape pair: 154 septets, past 153 per part but within 160 for one message
    assert count_sms("a" * 152 + "{").parts == 1
    # 306 septets in two parts would split the last pair: 152 + "{" cannot end part one, it moves on
    long = count_sms("a" * 152 + "{" + "a" * 152)
    assert (long.length, long.parts) == (306, 3)
    assert count_sms("a" * 151 + "{" + "a" * 153).parts == 2


def test_vietnamese_with_accents_is_ucs2_70_then_67_per_part() -> None:
    text = "Chào bạn, đơn hàng đã được giao"
    counted = count_sms(text)
    assert counted.encoding == UCS2 and counted.length == len(text) and counted.parts == 1
    assert "ạ" in counted.unicode_characters and "đ" in counted.unicode_characters
    assert count_sms("ạ" * 70).parts == 1
    assert count_sms("ạ" * 71).parts == 2 and count_sms("ạ" * 134).parts == 2 and count_sms("ạ" * 135).parts == 3
    # the few accented letters GSM-7 has keep a text in GSM-7
    assert count_sms("Chào Lan, à é è ù ì ò").encoding == GSM7


def test_emoji_take_two_ucs2_units_and_are_not_split() -> None:
    assert count_sms("🎁").length == 2
    assert count_sms("a" * 66 + "🎁" + "a" * 3).parts == 2
    assert count_sms("a" * 65 + "🎁" + "a" * 3).length == 70


def test_stripping_accents_shows_the_saving() -> None:
    text = ("Xuyên: Cảm ơn bạn Lan đã mua hàng! Đơn DH1024 đang được giao, dự kiến nhận ngày 08/12. "
            "Hỏi đáp: 1900 1234")
    report = sms_report(text, strip_accents=True)
    assert report.with_accents.encoding == UCS2 and report.with_accents.parts == 2
    assert report.without_accents.encoding == GSM7 and report.without_accents.parts == 1
    assert report.parts_saved == 1 and report.sent == report.without_accents
    assert sms_text("Đơn hàng của bạn", strip_accents=True) == "Don hang cua ban"
    assert sms_text("Tổng 1.250.000 ₫", strip_accents=True) == "Tong 1.250.000 VND"
    assert count_sms(sms_text("Tổng 1.250.000 ₫", strip_accents=True)).encoding == GSM7
    assert sms_report(text, strip_accents=False).sent == report.with_accents
    assert report.as_dict()["parts_saved"] == 1
