"""Every page of the console renders for whom it is meant, with no error and no request
elsewhere; a screenshot of each is kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.pages import heading, log_in

PAGES = {
    "rep@partner.example": [
        ("/clients", "Managed Clients", "table"),
        ("/clients/new", "Add a client", "form"),
        ("/invitations", "Invitations", "table"),
        ("/prepaid-account", "Prepaid account", "text=Balance:"),
        ("/partner/bids", "Received bids", "ul.cards"),
        ("/directory-listing", "Directory listing", "form"),
        ("/collaborators", "Collaborators", "form"),
        ("/members", "Members", "table"),
        ("/settings/webhooks", "Webhooks", "table"),
    ],
    "rep@limited.example": [
        ("/partners", "Partners", "table"),
        ("/members", "Members", "table"),
    ],
    "": [
        ("/", "Reseller Space", "ul"),
        ("/directory", "Partner directory", "ul.cards"),
        ("/bids/new", "Post a bid", "form"),
        ("/sign-up", "Create an account", "form"),
        ("/reset-password", "Reset your password", "form"),
    ],
}


@pytest.mark.parametrize("who", list(PAGES), ids=["partner", "client", "visitor"])
def test_every_page_renders(tabs: Any, server: Server, who: str) -> None:
    tab = tabs(who.split("@")[0] or "visitor")
    if who:
        log_in(tab, who)
    for path, title, content in PAGES[who]:
        tab.go(path)
        assert heading(tab).inner_text() == title, path
        tab.page.locator(content).first.wait_for()
        # Loaded: no query is still loading, and nothing went wrong.
        tab.page.locator(".loading").first.wait_for(state="detached")
        assert tab.page.locator(".error-box, .form-errors").count() == 0, path
        tab.shot(path.strip("/").replace("/", "-") or "home")
