"""The guides' flows in Chromium, as partner, client and visitor use the console."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.browser.conftest import Server
from tests.browser.pages import heading, log_in

NEW_CLIENT = "rep@new.example"


def test_partner_invites_client_accepts_other_rights_partner_sees_products_not_invoices(
    tabs: Any, server: Server
) -> None:
    partner = tabs("partner")
    log_in(partner, "rep@partner.example")
    heading(partner).get_by_text("Managed Clients").wait_for()
    partner.shot("managed-clients")
    partner.page.get_by_role("link", name="Add a client").click()
    form = partner.page.get_by_role("form", name="Add a client")
    form.get_by_label("Client's email").fill(NEW_CLIENT)
    form.get_by_label("Limited: chosen products").check()
    form.get_by_label("Web hosting").check()
    partner.shot("add-a-client")
    form.get_by_role("button", name="Send the invitation").click()
    heading(partner).get_by_text("Invitations").wait_for()
    pending = partner.page.get_by_role("table", name="Pending invitations")
    pending.get_by_role("row", name=re.compile("Lac Leman Yachts")).wait_for()
    partner.shot("pending")

    # The client opens the emailed link, logs in there, and grants FULL (not what was asked).
    link = server.wait_for_link(NEW_CLIENT, "/invitations/accept?token=")
    client = tabs("client")
    client.go(link)
    log_in(client, NEW_CLIENT, path="")
    answer = client.page.get_by_role("form", name="Accept the invitation")
    answer.get_by_text("Alpine Web Partners").wait_for()
    assert "asks for Limited access to Web hosting" in answer.inner_text()
    answer.get_by_label("Full: the whole organization").check()
    answer.get_by_label(re.compile("The client's")).check()
    client.shot("answer")
    answer.get_by_role("button", name="Accept").click()
    client.page.get_by_role("status").get_by_text("Accepted").wait_for()
    client.shot("accepted")

    # The partner sees the new client and its products, but not its invoices.
    partner.page.get_by_role("link", name="Managed Clients").click()
    row = partner.page.get_by_role("row", name=re.compile("Lac Leman Yachts"))
    row.wait_for()
    assert "Full" in row.inner_text()
    assert "Client" in row.inner_text()
    row.get_by_role("link", name="Lac Leman Yachts").click()
    heading(partner).get_by_text("Lac Leman Yachts").wait_for()
    products = partner.page.get_by_role("table", name="Products")
    products.locator("tbody tr").first.wait_for()
    assert products.locator("tbody tr").count() >= 1
    partner.page.get_by_text("Billed to the client").wait_for()
    assert partner.page.get_by_role("table", name="Invoices").count() == 0
    partner.shot("client-page")


def test_client_changes_payment_methods_then_stops_with_password(tabs: Any, server: Server) -> None:
    client = tabs("client")
    log_in(client, "rep@full.example")
    heading(client).get_by_text("Partners").wait_for()
    client.page.get_by_role("button", name="Manage Alpine Web Partners").click()
    payment = client.page.get_by_role("form", name="Payment methods")
    payment.get_by_label("Mine (the client's)").check()
    client.shot("payment-methods")
    payment.get_by_role("button", name="Change payment methods").click()
    client.page.get_by_role("status").get_by_text("Payment methods: Client's").wait_for()
    # The partner is told by email.
    server.wait_for_email("rep@partner.example", "Payment methods changed: Alpine Web Partners")

    client.page.get_by_role("button", name="Stop collaboration").click()
    stop = client.page.get_by_role("form", name="Stop collaboration")
    stop.get_by_label("Your password").fill("not my password")
    stop.get_by_role("button", name="Confirm: stop the collaboration").click()
    stop.locator(".field").get_by_role("alert").wait_for()  # beside the password field
    client.shot("wrong-password")
    stop.get_by_label("Your password").fill("partnergraph-demo")
    stop.get_by_role("button", name="Confirm: stop the collaboration").click()
    client.page.get_by_text("No partner manages your products.").wait_for()
    client.shot("stopped")


def test_visitor_posts_a_bid_partner_offers_visitor_awards(tabs: Any, server: Server) -> None:
    partner = tabs("partner")
    log_in(partner, "rep@partner.example")
    partner.page.get_by_role("link", name="Directory listing").click()
    listing = partner.page.get_by_role("form", name="Directory listing")
    listing.get_by_label("Description").fill("Websites and mail for Swiss SMEs")
    listing.get_by_label("Languages").fill("fr, de")
    listing.get_by_label("Regions").fill("CH")
    listing.get_by_label("Web hosting").check()
    listing.get_by_label("Publish in the public directory").check()
    listing.get_by_role("button", name="Save the listing").click()
    listing.get_by_role("status").get_by_text("published").wait_for()

    visitor = tabs("visitor")
    visitor.go("/directory")
    visitor.page.get_by_label("Search partners").fill("Alpine")
    visitor.page.get_by_role("heading", name="Alpine Web Partners").wait_for()
    visitor.shot("directory")
    visitor.page.get_by_role("link", name="Post a bid").click()
    bid = visitor.page.get_by_role("form", name="Post a bid")
    bid.get_by_label("What do you need?").fill("A new website for our bakery")
    bid.get_by_label("Web hosting").check()
    bid.get_by_label("Budget").fill("900")
    bid.get_by_label("Language").fill("fr")
    bid.get_by_label("Region").fill("CH-VD")
    deadline = dt.date.today() + dt.timedelta(days=14)
    bid.get_by_label("Deadline").fill(deadline.isoformat())
    bid.get_by_label("Your email").fill("baker@visitor.example")
    bid.get_by_label("Your name").fill("Paul Boulanger")
    visitor.shot("post-bid")
    bid.get_by_role("button", name="Post the bid").click()
    visitor.page.get_by_role("status").get_by_text("Check your email").wait_for()
    visitor.go(server.wait_for_link("baker@visitor.example", "/bids/verify?token="))
    visitor.page.get_by_role("button", name="Confirm and publish the bid").click()
    heading(visitor).get_by_text("Your bid").wait_for()
    visitor.page.get_by_text("No offer yet.").wait_for()

    # The fan-out reaches the partner (the in-process worker); it offers.
    partner.go(server.wait_for_link("rep@partner.example", "/partner/bids/"))
    card = partner.page.locator(".card", has_text="A new website for our bakery")
    card.wait_for()
    card.get_by_label("Your offer (CHF)").fill("850")
    card.get_by_label("Message").fill("Design, hosting and mail, ready in 3 weeks")
    card.get_by_role("button", name="Make the offer").click()
    card.get_by_text("Your offer: 850").wait_for()
    partner.shot("offered")

    visitor.page.reload()
    visitor.page.get_by_role("button", name="Award to Alpine Web Partners").click()
    visitor.page.get_by_role("status").get_by_text("Awarded").wait_for()
    visitor.shot("awarded")
    partner.page.reload()
    partner.page.get_by_text("Contact: Paul Boulanger").wait_for()
    partner.shot("contact")
