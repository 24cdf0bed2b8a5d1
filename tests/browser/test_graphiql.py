"""GraphiQL comes from the package's own files: it renders and runs a query with every
request to another host blocked, under a CSP that allows only the server itself."""

from __future__ import annotations

from typing import Any

import httpx

from config.settings import Settings
from tests.browser.conftest import Server

# GraphiQL runs what its user types: a development tool, never in production's allowlist mode.
SERVE_ENV = {"PARTNERGRAPH_PERSISTED_QUERIES_ONLY": "false"}


def test_graphiql_runs_a_query_with_other_hosts_blocked(tabs: Any, server: Server) -> None:
    tab = tabs("graphiql")
    files: dict[str, str] = {}
    tab.page.on(
        "response",
        lambda r: (
            files.__setitem__(r.url, r.headers.get("content-security-policy", ""))
            if r.request.method == "GET"
            else None
        ),
    )
    with tab.page.expect_response(lambda r: "IntrospectionQuery" in (r.request.post_data or "")):
        tab.go("/graphql")
    run = tab.page.get_by_role("button", name="Execute query (Ctrl-Enter)")
    # The editor is ready once CodeMirror shows the default query.
    tab.page.locator(".graphiql-query-editor .CodeMirror-code").get_by_text(
        "LogIn", exact=True
    ).wait_for()
    with tab.page.expect_response(
        lambda r: (
            r.url.endswith("/graphql")
            and r.request.method == "POST"
            and "login" in (r.request.post_data or "")
        )
    ) as answered:
        run.click()
    answer = answered.value.json()
    tab.page.locator(".graphiql-response").get_by_text("pgs_").wait_for()
    tab.shot("ran")
    # The explorer plugin is there too, and knows the schema.
    tab.page.get_by_role("button", name="Show GraphiQL Explorer").click()
    tab.page.get_by_text("acceptMemberInvitation", exact=True).wait_for()
    tab.shot("explorer")
    assert answer["data"]["login"]["userErrors"] == []
    assert answer["data"]["login"]["token"].startswith("pgs_")
    # Every file the page loaded came from the server, with the 'self'-only CSP.
    assert len(files) > 10
    assert files[f"{server.url}/graphql"] == Settings().content_security_policy_html
    assert any(url.endswith(".woff2") for url in files)  # the fonts too, as files


def test_graphiql_files_are_the_server_s_own(server: Server) -> None:
    page = httpx.get(f"{server.url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self';")
    assert "unpkg" not in page.text
    assert "cdn" not in page.text.lower()
    assert 'src="/graphiql/assets/' in page.text
