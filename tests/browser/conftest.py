"""Browser tests: a real `partnergraph serve` process driven by Debian's Chromium.

Playwright (the Python package) launches /usr/bin/chromium, never a browser of its own.
Every request to another host than the server is blocked and recorded: a test fails if
the page tried one. The server runs in production's allowlist mode (only registered
operations run; a test module sets SERVE_ENV to run it otherwise), and a console page
fails its test if it sends an operation's text instead of its hash alone: the console's
build registers exactly what the console sends. Screenshots go to
$TEST_ARTIFACTS_DIR/browser (.ci/run sets it).
Under CI (CI=true) a missing Chromium fails the run; elsewhere the tests skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import IN_CI, TEST_SECRET, sqlite_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / ".ci" / "artifacts") / "browser"
DEMO_PASSWORD = "partnergraph-demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """One `partnergraph serve` process on a port of its own, emails written as files."""

    url: str
    mail_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def emails(self, to: str) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to.lower() in str(message["To"]).lower():
                found.append(message)  # type: ignore[arg-type]
        return found

    def wait_for_email(self, to: str, subject: str, timeout: float = 20.0) -> Any:
        """The newest email to `to` whose subject contains `subject`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.emails(to)):
                if subject in str(message["Subject"]):
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no email to {to} about {subject!r}")

    def wait_for_link(self, to: str, path: str, timeout: float = 20.0) -> str:
        """The first link to `path` in an email to `to` (the in-process worker sends it)."""
        deadline = time.monotonic() + timeout
        pattern = re.compile(re.escape(self.url) + re.escape(path) + r"[^\s\"'<>]*")
        while time.monotonic() < deadline:
            for message in reversed(self.emails(to)):
                body = message.get_body(preferencelist=("plain",))
                text = body.get_content() if body is not None else ""
                match = pattern.search(text)
                if match:
                    return match.group(0)
            time.sleep(0.2)
        raise AssertionError(f"no email to {to} with a link to {self.url}{path}")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not become ready:\n{log.read_text()}")


def _demo_database(path: Path) -> None:
    """What `partnergraph demo` leaves (tables at the migrations' head, the demo world),
    made in this process: the tables from the suite's template file, the passwords hashed
    with the suite's cheap argon2 parameters (the server verifies them all the same)."""
    from db.session import make_engine, make_sessionmaker
    from resolvers.demo import seed_demo

    url = sqlite_database(path)

    async def seed() -> None:
        engine = make_engine(url)
        try:
            await seed_demo(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    # In a thread of its own: Playwright's sync API keeps an event loop running here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed()).result(timeout=60)


#: The server's mode unless a test module's SERVE_ENV says otherwise.
ALLOWLIST_MODE = {"PARTNERGRAPH_PERSISTED_QUERIES_ONLY": "true"}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """The demo world served the way `make run` serves it, PUBLIC_URL left unset, in
    production's allowlist mode (or the module's SERVE_ENV)."""
    home = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
    env |= {
        "PARTNERGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'partnergraph.db'}",
        "PARTNERGRAPH_SECRET_KEY": TEST_SECRET,
        "PARTNERGRAPH_EMAIL_BACKEND": "file",
        "PARTNERGRAPH_EMAIL_FILE_DIR": str(home / "mail"),
        "PARTNERGRAPH_GRAPHIQL": "true",
    }
    env |= getattr(request.module, "SERVE_ENV", ALLOWLIST_MODE)
    _demo_database(home / "partnergraph.db")
    cli = [sys.executable, "-m", "app.cli"]
    log = home / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield Server(url, home / "mail", process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page of its own browser context (cookies, storage), watched for what it tries."""

    page: Any
    server: Server
    name: str
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Operations a console page sent by hash alone, and those it sent as text (none may).
    sent_by_hash: list[str] = field(default_factory=list)
    sent_as_text: list[str] = field(default_factory=list)
    shots: int = 0

    def go(self, path: str) -> None:
        self.page.goto(path if path.startswith("http") else self.server.url + path)

    def shot(self, label: str) -> Path:
        """Keep a screenshot of the page as it is now (artifacts/browser/<test>-NN-label.png)."""
        self.shots += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_clean(self) -> None:
        assert self.blocked == [], f"requests to other hosts: {self.blocked}"
        assert self.errors == [], f"page errors: {self.errors}"
        assert self.sent_as_text == [], (
            f"the console sent these operations as text, not by a registered hash: "
            f"{self.sent_as_text} (is app/console_dist/console/persisted-query-manifest.json "
            "what src/app/client.ts sends? `make web`)"
        )


@pytest.fixture
def tabs(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    """tabs("partner") -> a new Tab; every tab must end clean (no outside request, no error)."""
    opened: list[tuple[Any, Tab]] = []

    def open_tab(who: str) -> Tab:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(15_000)
        page = context.new_page()
        tab = Tab(page, server, f"{request.node.name}-{who}")

        def route(route: Any) -> None:
            if route.request.url.startswith(server.url + "/"):
                _watch_operation(tab, route.request)
                route.continue_()
            else:
                tab.blocked.append(route.request.url)
                route.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        page.on(
            "console",
            lambda m: tab.errors.append(m.text) if m.type == "error" and _counts(m.text) else None,
        )
        opened.append((context, tab))
        return tab

    yield open_tab
    for context, tab in opened:
        try:
            tab.shot("end")
        finally:
            context.close()
    for _, tab in opened:
        tab.assert_clean()


def _watch_operation(tab: Tab, request: Any) -> None:
    """Note an operation a console page sent with its text (GraphiQL, at /graphql, sends
    the text the user typed: that is its job)."""
    if request.method != "POST" or urlsplit(request.url).path != "/graphql":
        return
    if urlsplit(request.frame.url).path == "/graphql":
        return
    body = request.post_data_json
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict):
            sent = tab.sent_as_text if item.get("query") else tab.sent_by_hash
            sent.append(str(item.get("operationName")))


def _counts(text: str) -> bool:
    # An answer the test provoked on purpose (a 4xx the page shows) is not a page error.
    return "Failed to load resource" not in text
