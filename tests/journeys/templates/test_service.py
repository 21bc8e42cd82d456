"""Message template services: saving checked variants with versions, and rendering for real customers."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.journeys.templates.helpers import ACTOR, ORDER_VARIANTS, SHIPPED, customer
from xuyen.channels.base import ContactIdentifier
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.journeys.templates import service
from xuyen.journeys.templates.models import MessageTemplate, MessageTemplateVersion


def order_status(session: Session) -> MessageTemplate:
    return service.create_template(session, name="Trạng thái đơn hàng", purpose="transactional",
                                   variants=ORDER_VARIANTS, actor=ACTOR)


def test_every_channel_renders_for_a_real_customer(session: Session) -> None:
    template = order_status(session)
    lan = customer(session)
    email = service.render(session, template_id=template.id, channel="email", profile_id=lan, event=SHIPPED)
    assert email.ok, email.problems
    assert email.subject == "Lan ơi, đơn DH1024 đang được giao"
    assert "trị giá 1.250.000 ₫" in email.html and "<b>DH1024</b>" in email.html
    assert "Áo sơ mi trắng (https://shop.vn/ao) 450.000 ₫" in email.text  # plain part made from the HTML
    sms = service.render(session, template_id=template.id, channel="sms", profile_id=lan, event=SHIPPED)
    assert sms.text == "Xuyen: Chao Lan, don DH1024 (1.250.000 VND) dang duoc giao, du kien 09/12/2026."
    assert sms.sms is not None and sms.sms.sent.encoding == "GSM-7" and sms.sms.with_accents.encoding == "UCS-2"
    assert sms.sms.parts_saved == 1
    zns = service.render(session, template_id=template.id, channel="zns", profile_id=lan, event=SHIPPED)
    assert zns.ok and zns.zns_template_id == "231677"
    assert zns.zns_params == {"customer_name": "Nguyễn Thị Lan", "order_code": "DH1024", "amount": "1.250.000 ₫"}
    chat = service.render(session, template_id=template.id, channel="zalo_oa", profile_id=lan, event=SHIPPED)
    assert chat.text == "Chào Lan! Đơn DH1024 đang được giao."
    phone = ContactIdentifier(type="phone", value="+84912345678")
    sent = zns.outbound(to=phone, idempotency_key="journey:1:zns")
    assert sent.template is not None and sent.template.name == "231677"
    assert sent.template.parameters["order_code"] == "DH1024" and sent.text == ""
    mail = email.outbound(to=ContactIdentifier(type="email", value="lan.nguyen@gmail.com"), idempotency_key="k")
    assert mail.subject == email.subject and mail.text == email.text and mail.html == email.html
    assert sent.html is None and sms.outbound(to=phone, idempotency_key="k").html is None


def test_dates_follow_the_customers_time_zone(session: Session) -> None:
    template = order_status(session)
    abroad = customer(session, name="Trần Văn Minh", traits={"timezone": "America/Los_Angeles"})
    sms = service.render(session, template_id=template.id, channel="sms", profile_id=abroad, event=SHIPPED)
    assert "du kien 08/12/2026" in sms.text


def test_problems_come_back_without_raising(session: Session) -> None:
    template = order_status(session)
    lan = customer(session)
    missing = service.render(session, template_id=template.id, channel="sms", profile_id=lan, event=None)
    assert not missing.ok and missing.text == ""
    with pytest.raises(ValueError):
        missing.outbound(to=ContactIdentifier(type="phone", value="+84912345678"), idempotency_key="k")
    assert missing.problems[0].code == "missing_value" and "order_id" in missing.problems[0].message
    absent = service.render(session, template_id=template.id, channel="zns", profile_id=lan,
                            event={"name": "Order Shipped", "properties": {"order_id": "", "total": 5}})
    assert [p.code for p in absent.problems] == ["zns_param_empty"]
    big = service.render(session, template_id=template.id, channel="zns", profile_id=lan,
                         event={"name": "x", "properties": {"order_id": "DH-" + "9" * 40, "total": 5}})
    assert [(p.code, p.part) for p in big.problems] == [("zns_param_too_long", "zns.params.order_code")]
    with pytest.raises(NotFound):
        service.render(session, template_id=template.id, channel="sms", profile_id=999999)
    with pytest.raises(ValidationFailed):
        service.render(session, template_id=template.id, channel="fax", profile_id=lan)


def test_saves_are_checked_whole_and_versioned(session: Session) -> None:
    template = order_status(session)
    with pytest.raises(ValidationFailed) as bad:
        service.update_template(session, template_id=template.id, expected_version=1, actor=ACTOR,
                                variants={"sms": {"text": "Chào\n{{ profile.name "}})
    assert bad.value.code == "syntax_error" and bad.value.details["line"] == 2
    session.rollback()
    changed = service.update_template(session, template_id=template.id, expected_version=1, actor=ACTOR,
                                      variants={"sms": {"text": "Chào {{ profile.first_name }}"}})
    assert changed.version == 2 and list(changed.variants) == ["sms"]
    with pytest.raises(Conflict) as stale:
        service.update_template(session, template_id=template.id, expected_version=1, actor=ACTOR, name="Khác")
    assert stale.value.code == "version_conflict"
    session.rollback()
    by_version = select(MessageTemplateVersion).order_by(MessageTemplateVersion.version)
    versions: list[MessageTemplateVersion] = list(session.scalars(by_version))
    assert [(v.version, sorted(v.variants)) for v in versions] == [
        (1, ["email", "messenger", "sms", "zalo_oa", "zns"]), (2, ["sms"])]
    with pytest.raises(Conflict):
        service.create_template(session, name="trang thai don hang", purpose="care", variants=ORDER_VARIANTS,
                                actor=ACTOR)


@pytest.mark.parametrize(("variants", "code"), [
    ({}, "variants_required"),
    ({"fax": {"text": "x"}}, "unknown_channel"),
    ({"sms": {"text": ""}}, "empty_variant"),
    ({"sms": {"text": 5}}, "invalid_variant"),
    ({"email": {"subject": "x", "html": "{% for %}"}}, "syntax_error"),
    ({"zns": {"template_id": "", "params": [{"name": "a", "value": "x"}]}}, "zns_template_id_required"),
    ({"zns": {"template_id": "1", "params": []}}, "zns_params_required"),
    ({"zns": {"template_id": "1", "params": [{"name": "Tên KH", "value": "x"}]}}, "invalid_zns_param"),
    ({"zns": {"template_id": "1", "params": [{"name": "a", "value": "x", "max_length": 401}]}}, "invalid_zns_param"),
    ({"zns": {"template_id": "1", "params": [{"name": "a", "value": "x"}, {"name": "a", "value": "y"}]}},
     "invalid_zns_param"),
])
def test_bad_variants_are_refused_and_nothing_is_saved(session: Session, variants: object, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        service.create_template(session, name="Mẫu", purpose="care", variants=variants, actor=ACTOR)
    assert refused.value.code == code
    session.rollback()
    assert session.scalar(select(MessageTemplate.id)) is None


def test_preview_finds_the_customer_by_search(session: Session) -> None:
    template = order_status(session)
    customer(session)
    shown = service.preview(session, template_id=template.id, query="nguyen thi lan", event=SHIPPED)
    assert shown.customer_name == "Nguyễn Thị Lan"
    assert [r.channel for r in shown.rendered] == ["email", "sms", "zns", "messenger", "zalo_oa"]
    assert all(r.ok for r in shown.rendered)
    with pytest.raises(NotFound):
        service.preview(session, template_id=template.id, query="không có ai")


def test_coupon_and_products_come_from_extra_or_the_event(session: Session) -> None:
    template = service.create_template(session, name="Giỏ hàng", purpose="marketing", actor=ACTOR, variants={
        "zalo_oa": {"text": "{% for p in products %}{{ p.name }} {{ p.price|money }}; {% endfor %}"
                            "Mã: {{ coupon|default('không có') }}"},
        "messenger": {"text": "Mã của bạn: {{ coupon }}"}})
    lan = customer(session)
    plain = service.render(session, template_id=template.id, channel="zalo_oa", profile_id=lan)
    assert plain.text == "Mã: không có"
    bare = service.render(session, template_id=template.id, channel="messenger", profile_id=lan)
    assert [p.code for p in bare.problems] == ["missing_value"] and "'coupon'" in bare.problems[0].message
    given = service.render(session, template_id=template.id, channel="zalo_oa", profile_id=lan, event=SHIPPED,
                           extra={"coupon": "CAMON10"})
    assert given.text == "Áo sơ mi trắng 450.000 ₫; Quần tây đen 800.000 ₫; Mã: CAMON10"
    chosen = service.render(session, template_id=template.id, channel="zalo_oa", profile_id=lan, event=SHIPPED,
                            extra={"products": [{"name": "Khăn lụa", "price": 350000}]})
    assert chosen.text == "Khăn lụa 350.000 ₫; Mã: không có"
    missing = service.render(session, template_id=template.id, channel="email", profile_id=lan)
    assert [p.code for p in missing.problems] == ["no_variant"]
