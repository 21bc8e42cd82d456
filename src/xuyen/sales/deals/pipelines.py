"""Pipelines, their stages and the list of lost reasons: the default ones made on first use, and their editing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.sales.deals.models import Deal, LostReason, Pipeline, Stage, StageKind

DEFAULT_PIPELINE = "Bán hàng"
DEFAULT_STAGES: tuple[tuple[str, int, StageKind], ...] = (
    ("Mới", 10, StageKind.open),
    ("Đã liên hệ", 25, StageKind.open),
    ("Báo giá", 50, StageKind.open),
    ("Thương lượng", 75, StageKind.open),
    ("Thắng", 100, StageKind.won),
    ("Thua", 0, StageKind.lost),
)
DEFAULT_LOST_REASONS = ("Giá cao", "Chọn đối thủ", "Không liên lạc được", "Hết hàng", "Chưa có nhu cầu")
MAX_STAGES = 20


@dataclass(frozen=True)
class StageIn:
    """A stage as given when a pipeline is made or edited (``id`` names an existing stage to keep)."""

    name: str
    probability: int
    kind: StageKind = StageKind.open
    id: int | None = None


def ensure_defaults(session: Session) -> Pipeline:
    """The default pipeline, made with Vietnamese stages and the usual lost reasons on first use (helper: flushes)."""
    found = session.scalar(select(Pipeline).where(Pipeline.is_default.is_(True)).order_by(Pipeline.id).limit(1))
    if found is None:
        found = session.scalar(select(Pipeline).order_by(Pipeline.id).limit(1))
        if found is None:
            found = Pipeline(name=DEFAULT_PIPELINE, is_default=True)
            session.add(found)
            session.flush()
            _write_stages(session, found, [StageIn(name=n, probability=p, kind=k) for n, p, k in DEFAULT_STAGES])
        found.is_default = True
    if session.scalar(select(func.count()).select_from(LostReason)) == 0:
        session.add_all(LostReason(name=name, position=index) for index, name in enumerate(DEFAULT_LOST_REASONS))
    session.flush()
    return found


def list_pipelines(session: Session) -> list[Pipeline]:
    """Every pipeline, the default first (made on first use; commits when it was)."""
    made = session.scalar(select(func.count()).select_from(Pipeline)) == 0
    ensure_defaults(session)
    if made:
        session.commit()
    return list(session.scalars(select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.id)))


def get_pipeline(session: Session, *, pipeline_id: int) -> Pipeline:
    """One pipeline; NotFound for an unknown id."""
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound(f"There is no pipeline {pipeline_id}.", code="pipeline_not_found")
    return pipeline


def stages_of(session: Session, *, pipeline_id: int) -> list[Stage]:
    """The pipeline's active stages in board order."""
    return list(session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id, Stage.is_active.is_(True))
                                .order_by(Stage.position, Stage.id)))


def get_stage(session: Session, *, stage_id: int) -> Stage:
    """One stage; NotFound for an unknown id."""
    stage = session.get(Stage, stage_id)
    if stage is None or not stage.is_active:
        raise NotFound(f"There is no stage {stage_id}.", code="stage_not_found")
    return stage


def create_pipeline(session: Session, *, actor: str, name: str, stages: Sequence[StageIn],
                    is_default: bool = False) -> Pipeline:
    """A new pipeline with its stages (at least one open, one won and one lost), audited."""
    ensure_defaults(session)
    name = _checked_name(session, name)
    pipeline = Pipeline(name=name, is_default=False)
    session.add(pipeline)
    session.flush()
    _write_stages(session, pipeline, _checked_stages(stages))
    if is_default:
        _make_default(session, pipeline)
    _audit_pipeline(session, actor=actor, action="sales.pipeline.created", pipeline=pipeline)
    session.commit()
    return pipeline


def update_pipeline(session: Session, *, pipeline_id: int, actor: str, name: str | None = None,
                    stages: Sequence[StageIn] | None = None, is_default: bool | None = None) -> Pipeline:
    """Rename a pipeline, make it the default, or replace its stages (stages named by id are kept, with their deals;
    a stage left out that still holds deals is refused), audited."""
    pipeline = get_pipeline(session, pipeline_id=pipeline_id)
    if name is not None and name.strip() != pipeline.name:
        pipeline.name = _checked_name(session, name)
    if stages is not None:
        _replace_stages(session, pipeline, _checked_stages(stages))
    if is_default:
        _make_default(session, pipeline)
    _audit_pipeline(session, actor=actor, action="sales.pipeline.updated", pipeline=pipeline)
    session.commit()
    return pipeline


def _audit_pipeline(session: Session, *, actor: str, action: str, pipeline: Pipeline) -> None:
    session.flush()
    audit.record(session, actor=actor, action=action, subject_type="sales_pipeline", subject_id=pipeline.id,
                 detail={"name": pipeline.name, "is_default": pipeline.is_default,
                         "stages": [{"id": stage.id, "name": stage.name, "probability": stage.probability,
                                     "kind": stage.kind.value}
                                    for stage in stages_of(session, pipeline_id=pipeline.id)]})


def deal_counts(session: Session, *, pipeline_id: int) -> dict[int, int]:
    """How many deals (open or closed) each stage of the pipeline holds; stages without deals are left out."""
    rows = session.execute(select(Deal.stage_id, func.count()).where(Deal.pipeline_id == pipeline_id)
                           .group_by(Deal.stage_id))
    return {stage_id: count for stage_id, count in rows}


def _checked_name(session: Session, name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed("A pipeline needs a name of at most 120 characters.", code="invalid_name")
    if session.scalar(select(Pipeline.id).where(Pipeline.name == name)) is not None:
        raise Conflict(f"There is already a pipeline named {name!r}.", code="pipeline_exists")
    return name


def _checked_stages(stages: Sequence[StageIn]) -> list[StageIn]:
    if not 3 <= len(stages) <= MAX_STAGES:
        raise ValidationFailed(f"A pipeline has between 3 and {MAX_STAGES} stages.", code="invalid_stages")
    kinds = [stage.kind for stage in stages]
    if kinds.count(StageKind.won) != 1 or kinds.count(StageKind.lost) != 1 or StageKind.open not in kinds:
        raise ValidationFailed("A pipeline has open stages, one won stage and one lost stage.",
                               code="invalid_stages")
    names = [stage.name.strip() for stage in stages]
    if any(not 1 <= len(n) <= 80 for n in names) or len(set(names)) != len(names):
        raise ValidationFailed("Each stage needs its own name of at most 80 characters.", code="invalid_stages")
    if any(not 0 <= stage.probability <= 100 for stage in stages):
        raise ValidationFailed("A stage's probability is a percent between 0 and 100.", code="invalid_probability")
    return [StageIn(name=n, probability=s.probability, kind=s.kind, id=s.id) for n, s in zip(names, stages,
                                                                                             strict=True)]


def _write_stages(session: Session, pipeline: Pipeline, stages: Sequence[StageIn]) -> None:
    session.add_all(Stage(pipeline_id=pipeline.id, name=s.name, position=index, probability=s.probability,
                          kind=s.kind) for index, s in enumerate(stages))
    session.flush()


def _replace_stages(session: Session, pipeline: Pipeline, stages: Sequence[StageIn]) -> None:
    current = {stage.id: stage for stage in stages_of(session, pipeline_id=pipeline.id)}
    kept = {s.id for s in stages if s.id is not None}
    unknown = kept - set(current)
    if unknown:
        raise NotFound(f"Pipeline {pipeline.id} has no stage {min(unknown)}.", code="stage_not_found")
    holding = deal_counts(session, pipeline_id=pipeline.id)
    for stage_id in sorted(set(current) - kept):
        if holding.get(stage_id):
            raise Conflict(f"Stage {current[stage_id].name!r} still holds {holding[stage_id]} deal(s): move them "
                           "to another stage first.", code="stage_has_deals",
                           details={"stage_id": stage_id, "stage": current[stage_id].name,
                                    "deals": holding[stage_id]})
        current[stage_id].is_active = False
    for position, given in enumerate(stages):
        if given.id is None:
            session.add(Stage(pipeline_id=pipeline.id, name=given.name, position=position,
                              probability=given.probability, kind=given.kind))
            continue
        stage = current[given.id]
        if stage.kind is not given.kind and holding.get(stage.id):
            raise Conflict(f"Stage {stage.name!r} holds deals: its kind cannot change.", code="stage_has_deals",
                           details={"stage_id": stage.id, "stage": stage.name, "deals": holding[stage.id]})
        stage.name, stage.position, stage.probability, stage.kind = (given.name, position, given.probability,
                                                                     given.kind)
    session.flush()


def _make_default(session: Session, pipeline: Pipeline) -> None:
    session.execute(update(Pipeline).where(Pipeline.id != pipeline.id).values(is_default=False))
    pipeline.is_default = True


def lost_reasons(session: Session, *, active_only: bool = True) -> list[LostReason]:
    """The managed list of lost reasons, in order."""
    query = select(LostReason).order_by(LostReason.position, LostReason.id)
    if active_only:
        query = query.where(LostReason.is_active.is_(True))
    return list(session.scalars(query))


def add_lost_reason(session: Session, *, actor: str, name: str) -> LostReason:
    """Add a reason at the end of the list of lost reasons, audited."""
    ensure_defaults(session)
    name = _checked_reason_name(session, name)
    position = (session.scalar(select(func.max(LostReason.position))) or 0) + 1
    reason = LostReason(name=name, position=position)
    session.add(reason)
    session.flush()
    _audit_reason(session, actor=actor, action="sales.lost_reason.created", reason=reason)
    session.commit()
    return reason


def get_lost_reason(session: Session, *, reason_id: int) -> LostReason:
    """One lost reason, archived or not; NotFound for an unknown id."""
    reason = session.get(LostReason, reason_id)
    if reason is None:
        raise NotFound(f"There is no lost reason {reason_id}.", code="lost_reason_not_found")
    return reason


def update_lost_reason(session: Session, *, reason_id: int, actor: str, name: str | None = None,
                       is_active: bool | None = None, position: int | None = None) -> LostReason:
    """Rename a lost reason, archive it (deals that were lost for it keep it) or bring it back, or move it to
    ``position`` (0 is the top) in the list; audited."""
    reason = get_lost_reason(session, reason_id=reason_id)
    if name is not None and name.strip() != reason.name:
        reason.name = _checked_reason_name(session, name)
    if is_active is not None:
        reason.is_active = is_active
    if position is not None:
        ordered = [other for other in lost_reasons(session, active_only=False) if other.id != reason.id]
        ordered.insert(max(0, min(position, len(ordered))), reason)
        for index, other in enumerate(ordered):
            other.position = index
    session.flush()
    _audit_reason(session, actor=actor, action="sales.lost_reason.updated", reason=reason)
    session.commit()
    return reason


def _checked_reason_name(session: Session, name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed("A lost reason needs a name of at most 120 characters.", code="invalid_name")
    if session.scalar(select(LostReason.id).where(LostReason.name == name)) is not None:
        raise Conflict(f"The lost reason {name!r} exists already.", code="reason_exists")
    return name


def _audit_reason(session: Session, *, actor: str, action: str, reason: LostReason) -> None:
    audit.record(session, actor=actor, action=action, subject_type="sales_lost_reason", subject_id=reason.id,
                 detail={"name": reason.name, "position": reason.position, "is_active": reason.is_active})
