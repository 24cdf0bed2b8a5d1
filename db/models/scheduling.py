"""The scheduler's claims: one row per (job, period) that was enqueued.

Two schedulers may run (redundancy, a rolling deploy): each inserts the slot's row with
``ON CONFLICT DO NOTHING`` before enqueueing, and only the one whose insert wrote the row
enqueues. The primary key makes "once per slot" a database guarantee.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utcnow


class ScheduledRun(Base):
    __tablename__ = "scheduled_runs"

    # The actor name, e.g. "expire_bids".
    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The period the run is for: "2026-11-27T10:42" (minutely), "2026-11" (monthly), "2026".
    period_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # host:pid of the scheduler that enqueued it (diagnostics).
    claimed_by: Mapped[str] = mapped_column(String(200))
