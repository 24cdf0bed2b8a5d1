"""Start-up: a database not at the migrations' head is refused in one line (or migrated
with --migrate), and so are registered operations that do not hold; /readyz says why it
is not ready; a configuration error is one line and exit 2; `demo` refuses production;
every option's help shows its default."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from app.asgi import create_app
from app.cli import build_parser
from config.settings import Settings
from db.migrate import upgrade
from db.models import Base
from db.session import make_engine
from tests.conftest import TEST_SECRET
from tests.processes import PARTNERGRAPH, ROOT, Children, cli_in_process


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
    return subprocess.run(
        [str(PARTNERGRAPH), *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def sqlite_url(tmp_path: Path, name: str = "pg.db") -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}"


def test_serve_refuses_a_database_never_migrated(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--port", "1", env={"PARTNERGRAPH_DATABASE_URL": sqlite_url(tmp_path)}
    )
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("partnergraph serve: the database was never migrated")
    assert "--migrate" in line


@pytest.mark.parametrize("action", ["status", "dead", "retry"])
def test_outbox_commands_refuse_a_database_never_migrated(
    tmp_path: Path, action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"PARTNERGRAPH_DATABASE_URL": sqlite_url(tmp_path)}
    if action == "status":  # the real command once; the others through its entry point here
        result = run_cli("outbox", action, env=env)
    else:
        result = cli_in_process(monkeypatch, "outbox", action, env=env)
    assert result.returncode == 2
    assert one_line(result).startswith("partnergraph outbox: the database was never migrated")


def test_serve_refuses_registered_operations_that_do_not_hold(tmp_path: Path) -> None:
    (tmp_path / "ios.json").write_text(
        '{"format": "apollo-persisted-query-manifest", "version": 1, "operations": '
        '[{"id": "00", "name": "Me", "type": "query", "body": "query Me { __typename }"}]}'
    )
    result = run_cli(
        "serve",
        "--port",
        "1",
        env={
            "PARTNERGRAPH_DATABASE_URL": sqlite_url(tmp_path),
            "PARTNERGRAPH_PERSISTED_QUERIES_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("partnergraph serve: ")
    assert "the id of operation 'Me' is not the SHA-256 of its body" in line


def test_worker_refuses_a_database_behind_the_head(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    upgrade(url, "7bf80abee24e")  # one migration behind
    result = run_cli(
        "worker",
        env={"PARTNERGRAPH_DATABASE_URL": url, "PARTNERGRAPH_REDIS_URL": "redis://127.0.0.1:1/0"},
    )
    assert result.returncode == 2
    line = one_line(result)
    assert "the database is at 7bf80abee24e, not at the migrations' head" in line


def test_serve_refuses_an_unreachable_database() -> None:
    result = run_cli(
        "serve",
        env={"PARTNERGRAPH_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none"},
    )
    assert result.returncode == 2
    assert "cannot reach the database" in one_line(result)


def test_serve_migrate_then_ready(tmp_path: Path, children: Children) -> None:
    env = {
        "PARTNERGRAPH_DATABASE_URL": sqlite_url(tmp_path),
        "PARTNERGRAPH_SECRET_KEY": TEST_SECRET,
    }
    _, base = children.serve(env, "--migrate")
    ready = httpx.get(base + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "database": "ok", "schema": "ok", "broker": "ok"}
    check = subprocess.run(
        [str(PARTNERGRAPH), "healthcheck", "--url", base + "/readyz"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr


async def test_readyz_says_the_schema_is_not_at_head(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    async with engine.begin() as connection:  # the tables, but no schema version
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()
    app = create_app(Settings(database_url=url, secret_key=TEST_SECRET), start_workers=False)
    await app.state.runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/readyz")
    finally:
        await app.state.runtime.stop()
    assert ready.status_code == 503
    body = ready.json()
    assert body["database"] == "ok"
    assert body["schema"].startswith("error: the database was never migrated")


def test_a_configuration_error_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing_secret = run_cli("migrate", env={"PARTNERGRAPH_PRODUCTION": "true"})
    assert missing_secret.returncode == 2
    assert one_line(missing_secret) == (
        "partnergraph: configuration error: PARTNERGRAPH_SECRET_KEY must be set in production"
    )
    # The same entry point in this process (the command itself ran just above).
    bad_number = cli_in_process(monkeypatch, "migrate", env={"PARTNERGRAPH_MAX_PAGE_SIZE": "lots"})
    assert bad_number.returncode == 2
    assert one_line(bad_number).startswith(
        "partnergraph: configuration error: PARTNERGRAPH_MAX_PAGE_SIZE: "
    )
    assert not (tmp_path / "pg.db").exists()


def test_demo_refuses_production_without_force(tmp_path: Path) -> None:
    result = run_cli(
        "demo",
        env={
            "PARTNERGRAPH_PRODUCTION": "true",
            "PARTNERGRAPH_SECRET_KEY": TEST_SECRET,
            "PARTNERGRAPH_DATABASE_URL": sqlite_url(tmp_path),
        },
    )
    assert result.returncode == 2
    assert one_line(result).startswith("partnergraph demo: PARTNERGRAPH_PRODUCTION is true")
    assert not (tmp_path / "pg.db").exists()  # nothing migrated, nothing loaded


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_commands(sub))
    return found


def test_every_option_has_help_that_shows_its_default() -> None:
    commands = _commands(build_parser())
    assert len(commands) > 10
    for command in commands[1:]:
        text = " ".join(command.format_help().split())
        for action in command._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help, (command.prog, action.dest)
            if action.default is not None:
                assert f"(default: {action.default})" in text, (command.prog, action.dest)
