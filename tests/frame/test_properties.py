"""Property-based tests of small pieces every domain relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.config import get_settings
from xuyen.jobs import Job, add_job, backoff_delay
from xuyen.ui.security import safe_next

SITE = "https://shop.example.vn/"

redirect_targets = st.one_of(
    st.text(max_size=40),
    st.builds(lambda prefix, rest: prefix + rest,
              st.sampled_from(["/", "//", "/\\", "\\\\", "http:", "https://", "/%2F", "javascript:", " /", "\t/",
                               "/\r\n/", "///", "/.//"]),
              st.text(max_size=30)),
)


@given(redirect_targets)
def test_safe_next_never_leaves_the_site(target: str) -> None:
    chosen = safe_next(target)
    resolved = urlsplit(urljoin(SITE, chosen))
    assert resolved.scheme == "https"
    assert resolved.netloc == "shop.example.vn"
    assert chosen == "/" or chosen == target


@given(st.integers(min_value=1, max_value=60))
def test_backoff_never_exceeds_the_cap_and_never_shrinks_below_jitter(attempt: int) -> None:
    settings_ = get_settings()
    delay = backoff_delay(attempt).total_seconds()
    assert 0 < delay <= settings_.job_backoff_max_seconds * 1.25
    expected = min(settings_.job_backoff_base_seconds * 2 ** (attempt - 1), settings_.job_backoff_max_seconds)
    assert expected * 0.75 <= delay <= expected * 1.25


aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-5, minutes=-30))]),
)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=aware_datetimes)
def test_timestamps_round_trip_as_the_same_instant_in_utc(session: Session, moment: datetime) -> None:
    job_row = add_job(session, name="jobs.prune", run_at=moment)
    session.commit()
    session.expire_all()
    stored = session.scalar(select(Job.run_at).where(Job.id == job_row.id))
    assert stored is not None
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(session: Session) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        add_job(session, name="jobs.prune", run_at=datetime(2026, 11, 23, 9, 0))
