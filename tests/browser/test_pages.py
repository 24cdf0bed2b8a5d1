"""Every page of the console renders for whom it is meant, with no error and no request
elsewhere, sending its operations by hash alone; a screenshot of each is kept. A server
that does not know a hash gets the text once (Apollo's protocol)."""

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
    # In the allowlist mode, each by its hash alone (the tabs fixture fails on any text).
    assert tab.sent_by_hash
    assert "Viewer" in tab.sent_by_hash or not who, tab.sent_by_hash


def test_a_hash_the_server_does_not_know_is_sent_again_with_its_text(
    tabs: Any, server: Server
) -> None:
    tab = tabs("not-found")
    missed: list[str] = []

    def miss_once(route: Any) -> None:
        body = route.request.post_data_json if route.request.method == "POST" else None
        if isinstance(body, dict) and "query" not in body and not missed:
            missed.append(body["operationName"])
            route.fulfill(
                status=200,
                json={
                    "errors": [
                        {
                            "message": "PersistedQueryNotFound",
                            "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
                        }
                    ]
                },
            )
        else:
            route.fallback()  # to the tabs fixture's watch, then the server

    tab.page.route("**/graphql", miss_once)  # the newest route answers first
    tab.go("/directory")
    tab.page.locator("ul.cards").first.wait_for()
    assert tab.page.locator(".error-box, .form-errors").count() == 0
    assert missed == ["Directory"]
    # The same operation again, with its text (which hashes to a registered one: it runs).
    assert tab.sent_as_text == ["Directory"]
    tab.sent_as_text.clear()  # provoked here: not the console's fault
