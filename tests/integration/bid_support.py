"""Helpers for the bid fan-out test and bench: many partners fast, a real worker process.

Used by ``tests/integration/test_bid_fanout.py`` and ``bench/bid_fanout.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Bid,
    BidDelivery,
    DirectoryListing,
    DirectoryListingTag,
    Membership,
    Organization,
    OutboxMessage,
    Partner,
    User,
)
from db.session import transaction
from domain.access import Viewer
from domain.enums import PartnerStatus, Role
from domain.money import Currency
from domain.program import DirectoryTagKind
from tests.conftest import RedisSpace

ROOT = Path(__file__).resolve().parents[2]
SM = async_sessionmaker[AsyncSession]
#: Seeded rows use explicit ids from here on (rows the app inserts keep the low ids).
FIRST_ID = 1_000_001
#: Listing ids: from here, in the reverse order of the partner ids (listing and partner
#: ids never coincide, and listing order is not partner order: a query mixing them fails).
LISTING_FIRST_ID = 5_000_001
BATCH = 5000


def listing_id_of(partner_id: int, *, count: int, first_id: int = FIRST_ID) -> int:
    """The id of the seeded listing of partner ``partner_id`` (see :func:`seed_partners`)."""
    return LISTING_FIRST_ID + (first_id + count - 1 - partner_id)


async def seed_partners(
    sm: SM,
    count: int,
    *,
    first_id: int = FIRST_ID,
    also_languages: Mapping[str, int] | None = None,
) -> list[int]:
    """``count`` active partners (an organization and a legal representative each) whose
    directory listing (unpublished: bids match it anyway) takes fr / CH / WEB_HOSTING;
    ``also_languages`` maps a language to how many of the first partners also take it.
    Returns the partner ids."""
    ids = list(range(first_id, first_id + count))
    extra = dict(also_languages or {})
    for start in range(0, count, BATCH):
        batch = ids[start : start + BATCH]
        async with transaction(sm) as session:
            await session.execute(
                insert(Organization),
                [
                    {
                        "id": i,
                        "name": f"Partner {i}",
                        "currency": Currency.CHF,
                        "support_code": f"B{i}",
                    }
                    for i in batch
                ],
            )
            await session.execute(
                insert(User),
                [
                    {
                        "id": i,
                        "email": f"rep{i}@partners.example",
                        "full_name": f"Rep {i}",
                        "password_hash": "-",
                    }
                    for i in batch
                ],
            )
            await session.execute(
                insert(Membership),
                [
                    {"user_id": i, "organization_id": i, "role": Role.LEGAL_REPRESENTATIVE}
                    for i in batch
                ],
            )
            await session.execute(
                insert(Partner),
                [{"id": i, "organization_id": i, "status": PartnerStatus.ACTIVE} for i in batch],
            )
            listing = {i: listing_id_of(i, count=count, first_id=first_id) for i in batch}
            await session.execute(
                insert(DirectoryListing),
                [
                    {
                        "id": listing[i],
                        "partner_id": i,
                        "published": False,
                        "name": f"Partner {i}",
                        "description": "",
                        "search_text": f"partner {i}",
                    }
                    for i in batch
                ],
            )
            tags: list[dict[str, Any]] = []
            for i in batch:
                values = [
                    (DirectoryTagKind.LANGUAGE, "fr"),
                    (DirectoryTagKind.REGION, "CH"),
                    (DirectoryTagKind.PRODUCT_FAMILY, "WEB_HOSTING"),
                ] + [
                    (DirectoryTagKind.LANGUAGE, language)
                    for language, first in extra.items()
                    if i < first_id + first
                ]
                tags += [
                    {"listing_id": listing[i], "partner_id": i, "kind": kind, "value": value}
                    for kind, value in values
                ]
            await session.execute(insert(DirectoryListingTag), tags)
    return ids


async def make_author(sm: SM, email: str = "author@client.example") -> Viewer:
    """A client's legal representative (a member of no partner), as a signed-in viewer."""
    async with transaction(sm) as session:
        org = Organization(name="Client", currency=Currency.CHF, support_code="CLIENT-1")
        user = User(email=email, full_name="Client Author", password_hash="-")
        session.add_all([org, user])
        await session.flush()
        session.add(
            Membership(user_id=user.id, organization_id=org.id, role=Role.LEGAL_REPRESENTATIVE)
        )
        return Viewer(user_id=user.id, memberships={}, email=email)


async def delivered(sm: SM, bid_id: int) -> int:
    async with sm() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(BidDelivery).where(BidDelivery.bid_id == bid_id)
            )
            or 0
        )


async def unprocessed(sm: SM, actor_name: str) -> int:
    async with sm() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.actor_name == actor_name, OutboxMessage.processed_at.is_(None))
            )
            or 0
        )


async def bid_ids(sm: SM) -> list[int]:
    async with sm() as session:
        return list(await session.scalars(select(Bid.id).order_by(Bid.id)))


class WorkerProcess:
    """``python -m dramatiq workers.actors`` in its own process group (killable whole)."""

    def __init__(
        self,
        *,
        database_url: str,
        redis: RedisSpace,
        log_path: Path,
        mail_dir: Path,
        processes: int = 1,
        threads: int = 4,
    ) -> None:
        self.env = {
            **os.environ,
            "PARTNERGRAPH_DATABASE_URL": database_url,
            **redis.env(),
            "PARTNERGRAPH_EMAIL_BACKEND": "file",
            # This test plays the API's relay and counts what it sends: no worker sweeper.
            "PARTNERGRAPH_OUTBOX_SWEEP_IN_WORKERS": "false",
            "PARTNERGRAPH_EMAIL_FILE_DIR": str(mail_dir),
        }
        self.processes = processes
        self.threads = threads
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dramatiq",
                "workers.actors",
                "--processes",
                str(self.processes),
                "--threads",
                str(self.threads),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a kill reaches the forked workers too
        )

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown, no ack, no rollback but the database's."""
        self._signal(signal.SIGKILL)

    def stop(self, wait: float = 30) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL after ``wait`` seconds."""
        self._signal(signal.SIGTERM, wait)

    def _signal(self, sig: signal.Signals, wait: float = 30) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]
