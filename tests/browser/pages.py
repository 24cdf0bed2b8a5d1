"""What the browser tests do on the console's pages, by label and role as a person would."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import DEMO_PASSWORD, Tab


def heading(tab: Tab) -> Any:
    return tab.page.get_by_role("heading", level=1)


def log_in(tab: Tab, email: str, password: str = DEMO_PASSWORD, *, path: str = "/login") -> None:
    """Log in through the console's form (at `path`, or on the page already open)."""
    if path:
        tab.go(path)
    form = tab.page.get_by_role("form", name="Log in")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    form.wait_for(state="detached")


def log_out(tab: Tab) -> None:
    tab.page.get_by_role("button", name="Log out").click()
    tab.page.get_by_role("link", name="Log in").first.wait_for()
