"""The demo shop's leads: a website form, assignment rules, and leads from every source in every stage, some of
them customers already (a store visit of a known phone lands on the customer's profile). Facebook Lead Ads leads
are read from the Graph API's answer and Zalo information requests from the OA's webhook event, as the Fanpage and
the OA deliver them, through the same code the channels use."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.channels.base import InboundMessage, LeadNotice
from xuyen.channels.messenger.leadgen import lead_from_graph
from xuyen.channels.zalo.webhook import EventReader
from xuyen.clock import utcnow
from xuyen.customers.service import refresh_customers
from xuyen.demo.names import person_name
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.demo.routing import HANOI, ONLINE_CARE
from xuyen.demo.shop import DEMO_EMAIL_DOMAIN
from xuyen.fields import service as field_service
from xuyen.identity.models import Profile, ProfileIdentifier
from xuyen.inbox.models import Channel
from xuyen.inbox.routing.models import Team
from xuyen.sales.leads.capturing import Captured, record_capture
from xuyen.sales.leads.channel_leads import capture_notice
from xuyen.sales.leads.models import AssignmentRule, LeadForm, LeadStatus, SourceKind

STEP = "khách hàng tiềm năng"
NEW_LEADS = 36
KNOWN_VISITS = 6
PRODUCTS = ("Áo dài lụa", "Váy lụa công sở", "Khăn lụa tơ tằm", "May đo áo dài cưới", "Pyjama lụa")
PROVINCES = ("Hà Nội", "Hà Nội", "TP. Hồ Chí Minh", "TP. Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ")
CAMPAIGNS = {SourceKind.facebook_lead_ads: "Ads Tết 2027 – áo dài", SourceKind.zalo_form: "Zalo OA – may đo",
             SourceKind.form: "Website – tư vấn", SourceKind.import_: "Hội chợ lụa Vạn Phúc",
             SourceKind.api: "Landing page cưới", SourceKind.chat: "", SourceKind.store_visit: ""}
UTM = {SourceKind.facebook_lead_ads: {"utm_source": "facebook", "utm_medium": "paid_social"},
       SourceKind.form: {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "ao-dai-lua"}}
HEARD_VIA = {SourceKind.facebook_lead_ads: ("facebook",), SourceKind.zalo_form: ("ban_be", "facebook"),
             SourceKind.form: ("facebook", "tiktok", "ban_be"), SourceKind.import_: ("di_ngang", "ban_be"),
             SourceKind.api: ("tiktok", "ban_be")}
INTERESTED_IN = ("ao_dai", "vay_cuoi", "do_cong_so", "dong_phuc", "phu_kien")
BUDGETS = (2_000_000, 5_000_000, 10_000_000, 25_000_000)
BUDGETS_TYPED = ("3.000.000", "5.000.000", "15.000.000", "khoảng 5 triệu")  # the last one stays raw only
STAGES = ((LeadStatus.new, 14), (LeadStatus.contacted, 9), (LeadStatus.qualified, 6), (LeadStatus.unqualified, 4),
          (LeadStatus.converted, 3))


def _teams(session: Session) -> dict[str, int]:
    return {team.name: team.id for team in session.scalars(select(Team))}


def _rules(session: Session, context: DemoContext) -> None:
    """Facebook and Zalo leads to the online care team (they take turns), Hà Nội and Sài Gòn leads to the
    branches' salespeople, made-to-measure interest to the Hà Nội team."""
    teams = _teams(session)
    hanoi_rep = context.users.get(f"banhang.hn01@{DEMO_EMAIL_DOMAIN}")
    saigon_rep = context.users.get(f"banhang.hcm01@{DEMO_EMAIL_DOMAIN}")
    specs: list[tuple[str, SourceKind | None, str, str, int | None, int | None]] = [
        ("Facebook Ads → CSKH trực tuyến", SourceKind.facebook_lead_ads, "", "", None, teams.get(ONLINE_CARE)),
        ("Zalo → CSKH trực tuyến", SourceKind.zalo_form, "", "", None, teams.get(ONLINE_CARE)),
        ("Hà Nội → Hàng Gai", None, "Hà Nội", "", hanoi_rep.id if hanoi_rep else None, None),
        ("TP. Hồ Chí Minh → Đồng Khởi", None, "TP. Hồ Chí Minh", "", saigon_rep.id if saigon_rep else None, None),
        ("May đo → cửa hàng Hà Nội", None, "", "May đo", None, teams.get(HANOI)),
        ("Còn lại → CSKH trực tuyến", None, "", "", None, teams.get(ONLINE_CARE)),
    ]
    for position, (name, source, province, interest, user_id, team_id) in enumerate(specs, start=1):
        if user_id is not None or team_id is not None:
            session.add(AssignmentRule(position=position * 10, name=name, source=source, province=province,
                                       product_interest=interest, assign_user_id=user_id, assign_team_id=team_id,
                                       active=True))
    session.flush()


def _phone(rng: random.Random) -> str:
    return rng.choice(("090", "091", "093", "096", "097", "098", "086", "038")) + f"{rng.randrange(10**7):07d}"


def _known_phones(session: Session, rng: random.Random) -> list[str]:
    phones = list(session.scalars(
        select(ProfileIdentifier.value).join(Profile, Profile.id == ProfileIdentifier.profile_id)
        .where(ProfileIdentifier.type == "phone", Profile.merged_into_id.is_(None)).order_by(ProfileIdentifier.id)))
    return rng.sample(phones, min(KNOWN_VISITS, len(phones)))


FACEBOOK_ADS = (("Ads Tết 2027 – áo dài", "Nữ 25-45 Hà Nội", "Áo dài lụa đỏ – ưu đãi Tết"),
                ("Ads Tết 2027 – áo dài", "Nữ 25-45 TP.HCM", "Video may đo áo dài"),
                ("Bộ sưu tập lụa hè", "Dân văn phòng 22-35", "Váy lụa công sở – giảm 15%"))
DISTRICTS = {"Hà Nội": "Hoàn Kiếm", "TP. Hồ Chí Minh": "Quận 1", "Đà Nẵng": "Hải Châu", "Hải Phòng": "Lê Chân",
             "Cần Thơ": "Ninh Kiều"}


def _facebook_lead(session: Session, page: Channel, rng: random.Random, *, number: int, name: str, phone: str,
                   email: str, at: datetime) -> Captured:
    """A lead left in the Fanpage's Lead Ads form, as the Graph API answers ``GET /{leadgen_id}``."""
    campaign, adset, ad = rng.choice(FACEBOOK_ADS)
    answers = {"full_name": name, "phone_number": phone, "city": rng.choice(PROVINCES),
               "san_pham_quan_tam": rng.choice(PRODUCTS),
               "ban_muon_nhan_tu_van_qua?": rng.choice(("Gọi điện", "Zalo", "Tin nhắn Messenger"))}
    if email:
        answers["email"] = email
    leadgen_id = f"10537209{number:08d}"
    answer = {"id": leadgen_id, "created_time": at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
              "field_data": [{"name": key, "values": [value]} for key, value in answers.items()],
              "ad_id": f"1202088765{number:05d}", "ad_name": ad, "adset_id": "120208876500001", "adset_name": adset,
              "campaign_id": "120208876400001", "campaign_name": campaign, "form_id": "1250743692438731",
              "platform": "fb", "is_organic": False}
    return capture_notice(session, channel=page, notice=lead_from_graph(leadgen_id, answer, at), check_mx=False)


def _zalo_lead(session: Session, oa: Channel, rng: random.Random, *, number: int, name: str, phone: str,
               at: datetime) -> Captured:
    """A user's answer to the OA's information request, as the OA's ``user_submit_info`` webhook event."""
    city = rng.choice(PROVINCES)
    event = {"event_name": "user_submit_info", "app_id": oa.settings.get("app_id", ""),
             "sender": {"id": f"84120377{number:08d}"}, "recipient": {"id": oa.settings.get("oa_id", "")},
             "timestamp": str(int(at.timestamp() * 1000)),
             "info": {"name": name, "phone": phone, "address": f"{rng.randrange(1, 200)} phố Lụa", "city": city,
                      "district": DISTRICTS.get(city, "")}}
    message, notice = EventReader(oa_id=oa.settings.get("oa_id", ""), app_id=oa.settings.get("app_id", "")).read(event)
    assert isinstance(notice, LeadNotice) and isinstance(message, InboundMessage)
    identifiers = [(found.type, found.value, found.scope) for found in message.contact.identifiers]
    return capture_notice(session, channel=oa, notice=notice, identifiers=identifiers, check_mx=False)


def _form_fields(rng: random.Random) -> dict[str, Any]:
    """What the website form sends: a message, and a budget as people type it (the lead field "ngan_sach" takes
    it)."""
    return {"message": "Tư vấn giúp em mẫu mới", "ngan_sach": rng.choice(BUDGETS_TYPED)}


def _custom_values(rng: random.Random, source: SourceKind) -> dict[str, Any]:
    """The lead fields a sales person fills in on the first call (the form's own budget is left as sent)."""
    values: dict[str, Any] = {"biet_qua": rng.choice(HEARD_VIA[source])}
    if rng.random() < 0.6:
        values["san_pham_quan_tam"] = rng.sample(INTERESTED_IN, rng.randint(1, 2))
    if source is not SourceKind.form and rng.random() < 0.5:
        values["ngan_sach"] = rng.choice(BUDGETS)
    return values


@demo_step(STEP, order=90)
def add_leads(session: Session, rng: random.Random, context: DemoContext) -> None:
    """A website form, assignment rules, leads from every source in every stage, and store visits of customers."""
    form = LeadForm(name="Đăng ký tư vấn áo dài", key="demo-tu-van-ao-dai", allowed_origins=["https://luamay.vn"],
                    campaign=CAMPAIGNS[SourceKind.form], labels=["Tư vấn"], active=True)
    session.add(form)
    session.flush()
    _rules(session, context)
    sources = [SourceKind.facebook_lead_ads] * 12 + [SourceKind.form] * 9 + [SourceKind.zalo_form] * 7 + \
        [SourceKind.import_] * 5 + [SourceKind.api] * 3
    stages = [status for status, count in STAGES for _ in range(count)]
    rng.shuffle(stages)
    now = utcnow()
    leads = []
    channels = {channel.kind: channel for channel in session.scalars(select(Channel))}
    defined = {custom.key for custom in field_service.list_fields(session, entity="lead")}  # the fields step's
    for number in range(NEW_LEADS):
        source, name = sources[number % len(sources)], person_name(rng)
        bad_phone = number % 11 == 5  # a few typed wrongly: kept and flagged
        own = random.Random(f"demo-lead-fields-{number}")  # the lead's fields, leaving the shared draws as they were
        email = f"{name.given.lower()}.{number}@gmail.com" if rng.random() < 0.4 else ""
        at = now - timedelta(hours=rng.randrange(1, 24 * 20))
        phone = "09123" if bad_phone else _phone(rng)
        wanted = {key: value for key, value in _custom_values(own, source).items() if key in defined}
        arrived = None
        if source is SourceKind.facebook_lead_ads and "messenger" in channels:
            arrived = _facebook_lead(session, channels["messenger"], rng, number=number, name=name.full,
                                     phone=phone, email=email, at=at).lead
        elif source is SourceKind.zalo_form and "zalo" in channels:
            arrived = _zalo_lead(session, channels["zalo"], rng, number=number, name=name.full, phone=phone,
                                 at=at).lead
        if arrived is not None:  # what the sales person filled in on the first call
            if wanted:
                field_service.apply_values(session, entity="lead", entity_id=arrived.id, values=wanted, form=False,
                                           actor="demo")
            leads.append(arrived)
            continue
        done = record_capture(
            session, source=source, name=name.full, phone=phone,
            email=email if not bad_phone else "khong-co-email", province=rng.choice(PROVINCES),
            product_interest=rng.choice(PRODUCTS), campaign=CAMPAIGNS[source], utm=UTM.get(source),
            form=form if source is SourceKind.form else None,
            source_detail="https://luamay.vn/ao-dai" if source is SourceKind.form else "",
            fields=_form_fields(own) if source is SourceKind.form else {},
            captured_at=at, check_mx=False,
            dedupe_key=f"demo:lead:{number}", actor="demo",
            custom_values=wanted)
        leads.append(done.lead)
    for lead, status in zip(leads, stages, strict=False):
        lead.status = status
        if status is not LeadStatus.new:
            lead.last_activity_at = lead.created_at + timedelta(hours=2)
    for number, phone in enumerate(_known_phones(session, rng)):
        record_capture(session, source=SourceKind.store_visit, phone=phone, source_detail="Cửa hàng Hàng Gai",
                       product_interest=rng.choice(PRODUCTS), check_mx=False, dedupe_key=f"demo:visit:{number}",
                       captured_at=now - timedelta(days=rng.randrange(1, 10)))
    session.flush()
    refresh_customers(session, profile_ids=[lead.profile_id for lead in leads])  # the shop opens with them built
    context.extra[STEP] = {"leads": len(leads), "store_visits": KNOWN_VISITS, "form": form.key}
