"""The demo's leads: a website form, assignment rules, and leads from every source in every stage, assigned by the
rules; store visits of known phones are leads too."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.demo.service import load_demo, load_steps
from xuyen.identity.models import ProfileIdentifier
from xuyen.sales.leads.models import AssignmentRule, Lead, LeadCapture, LeadForm, LeadStatus, SourceKind


def test_the_demo_has_leads_from_every_source_in_every_stage(session: Session) -> None:
    wanted = {"cửa hàng", "nguồn", "nhân viên", "khách hàng", "hồ sơ khách hàng", "hộp thư", "khách hàng tiềm năng"}
    load_demo(session, seed=2026, steps=[step for step in load_steps() if step.name in wanted])
    session.rollback()
    leads = session.scalars(select(Lead)).all()
    assert {lead.source for lead in leads} >= {SourceKind.facebook_lead_ads, SourceKind.form, SourceKind.zalo_form,
                                               SourceKind.import_, SourceKind.api, SourceKind.store_visit}
    assert {lead.status for lead in leads} == set(LeadStatus)
    assert sum(1 for lead in leads if lead.owner_id is not None) >= len(leads) // 2
    assert any("phone_invalid" in lead.quality.get("flags", []) for lead in leads)
    assert session.scalar(select(func.count()).select_from(LeadForm)) == 1
    assert session.scalar(select(func.count()).select_from(AssignmentRule)) >= 4
    visits = [lead for lead in leads if lead.source is SourceKind.store_visit]
    assert visits and all(lead.phone for lead in visits)


def test_the_demo_has_leads_from_facebook_lead_ads_and_zalo_as_the_channels_bring_them(session: Session) -> None:
    wanted = {"cửa hàng", "nguồn", "nhân viên", "khách hàng", "hồ sơ khách hàng", "hộp thư", "khách hàng tiềm năng"}
    load_demo(session, seed=2026, steps=[step for step in load_steps() if step.name in wanted])
    session.rollback()
    facebook = session.scalars(select(LeadCapture).where(LeadCapture.source == SourceKind.facebook_lead_ads)).all()
    assert facebook and all(capture.dedupe_key and capture.dedupe_key.startswith("fb:") for capture in facebook)
    assert all("full_name" in capture.fields and capture.utm_content and capture.campaign for capture in facebook)
    zalo = session.scalars(select(LeadCapture).where(LeadCapture.source == SourceKind.zalo_form)).all()
    assert zalo and all(capture.dedupe_key and capture.dedupe_key.startswith("zalo:") for capture in zalo)
    for capture in zalo:
        lead = session.get(Lead, capture.lead_id)
        assert lead is not None and "Zalo" in lead.labels
        assert session.scalar(select(func.count()).select_from(ProfileIdentifier).where(
            ProfileIdentifier.profile_id == lead.profile_id, ProfileIdentifier.type == "zalo_id")) == 1
