"""Jobs everywhere: the embedded default runs the scheduler; a worker relays the outbox
with no API running; `partnergraph outbox status | dead | retry`."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.relay import GlobalID

from app.asgi import create_app
from config.settings import Settings
from db.models import OutboxMessage, ScheduledRun, utcnow
from db.session import make_engine, make_sessionmaker, transaction
from resolvers.events import emit_email
from tests.api.spine_support import INVITE, grant_row, session_token, update_grant
from tests.conftest import RedisSpace, fresh_pg_database, gid, sqlite_database
from tests.processes import PARTNERGRAPH, ROOT, Children, cli_in_process
from tests.workers.conftest import wait_until
from workers.broker import reset_broker
from workers.relay import MAX_ATTEMPTS

Maker = async_sessionmaker[AsyncSession]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_embedded_default_runs_the_scheduler_and_the_jobs(
    api: Any, world: Any, sessionmaker: Maker, settings: Settings
) -> None:
    partner = await session_token(sessionmaker, "rep@partner.example")
    data = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations["Alpine Web Partners"]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        token=partner,
    )
    grant_id = int(GlobalID.from_id(data["invite"]["grant"]["id"]).node_id)
    await update_grant(
        sessionmaker, grant_id, invitation_expires_at=utcnow() - timedelta(seconds=1)
    )

    # `partnergraph serve` without Redis: in-process broker, worker, relay and scheduler.
    app = create_app(settings, start_workers=True)
    runtime = app.state.runtime
    await runtime.start()
    try:
        assert runtime.scheduler is not None

        async def expired() -> bool:
            return (await grant_row(sessionmaker, grant_id)).status.value == "EXPIRED"

        await wait_until(expired, within=30)  # the scheduled expiry job ran
        async with sessionmaker() as session:
            runs = (await session.scalars(select(ScheduledRun.job))).all()
        assert "expire_grant_invitations" in runs
        assert "expire_grant_invitations" in [job for job, _ in runtime.scheduler.enqueued]

        def mailed() -> bool:
            return any(Path(settings.email_file_dir).glob("*.eml"))

        await wait_until(mailed, within=30)  # the invitation email, sent in-process
    finally:
        await runtime.stop()
        reset_broker()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_pg_database()


async def _emit(url: str, count: int) -> list[int]:
    engine = make_engine(url, pool_size=1)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            rows = [
                emit_email(
                    session,
                    to=f"client{i}@relay.example",
                    template="welcome",
                    context={"full_name": f"User {i}", "organization_name": "Org"},
                )
                for i in range(count)
            ]
            await session.flush()
            return [row.id for row in rows]
    finally:
        await engine.dispose()


async def _processed(url: str) -> set[int]:
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            done = await session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.processed_at.is_not(None))
            )
            return set(done.all())
    finally:
        await engine.dispose()


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
async def test_a_worker_relays_the_outbox_with_no_api_running(
    pg_url: str, redis_space: RedisSpace, children: Children, tmp_path: Path
) -> None:
    mail = tmp_path / "mail"
    ids = await _emit(pg_url, 3)  # committed; no API process to relay them
    children.spawn(
        [str(PARTNERGRAPH), "worker", "--processes", "1", "--threads", "2"],
        env={
            **redis_space.env(),
            "PARTNERGRAPH_DATABASE_URL": pg_url,
            "PARTNERGRAPH_EMAIL_BACKEND": "file",
            "PARTNERGRAPH_EMAIL_FILE_DIR": str(mail),
            "PARTNERGRAPH_OUTBOX_SWEEP_SECONDS": "0.5",
            "PARTNERGRAPH_HEARTBEAT_FILE": str(tmp_path / "alive"),
        },
        name="worker",
    )

    async def relayed() -> bool:
        return await _processed(pg_url) == set(ids)

    try:
        await wait_until(relayed, within=60, interval=0.2)
    finally:
        print(children.started[0].log())
    assert sorted(p.name for p in mail.glob("*.eml")) == sorted(f"outbox-{i}.eml" for i in ids)
    # Its liveness check: the heartbeat its event loop touches.
    alive = await asyncio.to_thread(
        subprocess.run,
        [str(PARTNERGRAPH), "healthcheck", "--heartbeat", str(tmp_path / "alive")],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert alive.returncode == 0, alive.stderr


def test_outbox_status_dead_and_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_database(tmp_path / "ops.db")
    ids = asyncio.run(_emit(url, 3))

    async def fail(outbox_id: int, attempts: int, error: str) -> None:
        engine = make_engine(url)
        async with transaction(make_sessionmaker(engine)) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id)
                .values(attempts=attempts, last_error=error, dispatched_at=utcnow())
            )
        await engine.dispose()

    asyncio.run(fail(ids[0], MAX_ATTEMPTS, "permanent: EmailTemplateError: bad recipient"))
    asyncio.run(fail(ids[1], 2, "SMTPConnectError: refused"))
    env = {**os.environ, "PARTNERGRAPH_DATABASE_URL": url}

    def command(*args: str) -> str:
        """The real `partnergraph outbox ...` command, in a process of its own."""
        done = subprocess.run(
            [str(PARTNERGRAPH), "outbox", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def run(*args: str) -> str:
        """The same entry point in this process: what it prints, exit 0."""
        done = cli_in_process(monkeypatch, "outbox", *args, env={"PARTNERGRAPH_DATABASE_URL": url})
        assert done.returncode == 0, done.stderr
        return done.stdout

    status = command("status").splitlines()
    (line,) = [row for row in status if row.startswith("send_email")]
    assert line.split()[1:4] == ["1", "1", "1"]  # pending, failing, dead
    dead = run("dead")
    assert f"{ids[0]}" in dead
    assert "bad recipient" in dead
    assert str(ids[1]) not in dead.split()
    assert "1 outbox messages will be sent again" in run("retry", str(ids[0]))
    (line,) = [row for row in run("status").splitlines() if row.startswith("send_email")]
    assert line.split()[1:4] == ["2", "1", "0"]
    assert "1 outbox messages will be sent again" in run("retry")  # the failing one
    assert "no dead outbox messages" in run("dead")
