"""Bids through the API (SQLite and PostgreSQL): post, verify, fan-out, offer, award, expire.

A partner receives bids for the languages, regions and product families of its directory
listing (``updateDirectoryListing``), published or not.

The fan-out jobs run synchronously here: the test calls the actors' handlers through
``workers.outbox.process_once`` (as a worker would), except in the StubBroker test, where
a real ``dramatiq.Worker`` consumes the messages in this process.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from functools import lru_cache
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import (
    AuditEvent,
    Bid,
    BidDelivery,
    DirectoryListing,
    DirectoryListingTag,
    Membership,
    Offer,
    Organization,
    OutboxMessage,
    Partner,
    User,
    utcnow,
)
from db.session import transaction
from domain.bids import BidCriteria
from domain.enums import PartnerStatus, Role
from domain.money import Currency
from domain.program import DirectoryTagKind
from resolvers import bids as use_cases
from resolvers.auth import hash_password, new_support_code
from resolvers.bids import DELIVER_BID_CHUNK, FAN_OUT_BID, ChunkRange
from tests.conftest import Api, gid, login
from workers import bids as bid_workers
from workers.email import render_email
from workers.outbox import process_once

SM = async_sessionmaker[AsyncSession]
PASSWORD = "partnergraph-demo"

POST = """mutation($i: PostBidInput!) { postBid(input: $i) {
    bid { id status matchingPartners budget { amount currency } authorContact { name email } }
    matchingPartners verificationSent userErrors { field code message } } }"""
VERIFY = """mutation($i: VerifyBidEmailInput!) { verifyBidEmail(input: $i) {
    bid { id status matchingPartners } matchingPartners authorToken
    userErrors { field code } } }"""
OFFER = """mutation($i: MakeOfferInput!) { makeOffer(input: $i) {
    offer { id amount { amount currency } message partnerName awarded }
    userErrors { field code } } }"""
AWARD = """mutation($i: AwardOfferInput!) { awardOffer(input: $i) {
    bid { status awardedOffer { id } } offer { id awarded } userErrors { field code } } }"""
LISTING = """mutation($i: UpdateDirectoryListingInput!) { updateDirectoryListing(input: $i) {
    entry { id languages regions productFamilies published } userErrors { field code } } }"""
RECEIVED = """query($p: ID!) { receivedBids(partnerId: $p, first: 10) { edges { node {
    id status description budget { amount currency } authorContact { name email }
    myOffer { id } matchingPartners } } } }"""
MY_BIDS = """query { myBids(first: 10) { edges { node {
    id status matchingPartners authorContact { email }
    offers { id partnerName amount { amount } awarded } } } } }"""


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)


async def make_partner(
    sm: SM,
    name: str,
    *,
    languages: tuple[str, ...] = ("fr",),
    regions: tuple[str, ...] = ("CH",),
    families: tuple[str, ...] = ("WEB_HOSTING",),
    status: PartnerStatus = PartnerStatus.ACTIVE,
    listing: bool = True,
) -> tuple[int, str]:
    """A partner organization with a legal representative and (unless ``listing`` is
    false) an unpublished directory listing with these tags; returns (partner id, rep
    email)."""
    email = f"rep@{name.lower().replace(' ', '-')}.example"
    async with transaction(sm) as session:
        org = Organization(name=name, currency=Currency.CHF, support_code=new_support_code())
        user = User(
            email=email,
            full_name=f"Rep of {name}",
            password_hash=_password_hash(),
            email_verified_at=utcnow(),
        )
        session.add_all([org, user])
        await session.flush()
        session.add(
            Membership(user_id=user.id, organization_id=org.id, role=Role.LEGAL_REPRESENTATIVE)
        )
        partner = Partner(organization_id=org.id, status=status)
        session.add(partner)
        await session.flush()
        if not listing:
            return partner.id, email
        row = DirectoryListing(partner_id=partner.id, published=False, name=name)
        session.add(row)
        await session.flush()
        for kind, values in (
            (DirectoryTagKind.LANGUAGE, languages),
            (DirectoryTagKind.REGION, regions),
            (DirectoryTagKind.PRODUCT_FAMILY, families),
        ):
            session.add_all(
                DirectoryListingTag(listing_id=row.id, partner_id=partner.id, kind=kind, value=v)
                for v in values
            )
        return partner.id, email


def bid_input(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "description": "A new web shop for our chocolate factory, with mail hosting.",
        "productFamilies": ["WEB_HOSTING", "STORAGE"],
        "budget": {"amount": "4800.00", "currency": "CHF"},
        "language": "fr",
        "region": "CH-VD",
        "deadline": (utcnow() + timedelta(days=14)).isoformat(),
    }
    values.update(overrides)
    return values


async def pending(sm: SM, actor: str) -> list[OutboxMessage]:
    async with sm() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.actor_name == actor, OutboxMessage.processed_at.is_(None))
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def run_fan_out_jobs(sm: SM) -> int:
    """Run every pending fan-out and chunk job as a worker would; return the jobs run."""
    ran = 0
    while True:
        plans = await pending(sm, FAN_OUT_BID)
        chunks = await pending(sm, DELIVER_BID_CHUNK)
        if not plans and not chunks:
            return ran
        for row in plans:
            await bid_workers.run_fan_out(row.id, sessionmaker=sm)
            ran += 1
        for row in chunks:
            assert await process_once(
                row.id, bid_workers.deliver_bid_chunk_handler, sessionmaker=sm
            )
            ran += 1


async def emails(sm: SM, template: str) -> list[OutboxMessage]:
    async with sm() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.actor_name == "send_email")
            .order_by(OutboxMessage.id)
        )
        return [r for r in rows if r.payload["template"] == template]


async def count(sm: SM, model: Any) -> int:
    async with sm() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def set_profile(
    api: Api, token: str, partner_id: int, **values: list[str] | bool
) -> dict[str, Any]:
    """``updateDirectoryListing`` with the given fields (languages, regions, families,
    published); the others stay."""
    names = {"families": "productFamilies"}
    data = await api.ok(
        LISTING,
        {
            "i": {
                "partnerId": gid("Partner", partner_id),
                **{names.get(key, key): value for key, value in values.items()},
            }
        },
        token=token,
    )
    return data["updateDirectoryListing"]  # type: ignore[no-any-return]


async def offer(
    api: Api, token: str, bid: str, partner_id: int, amount: str = "4500.00", currency: str = "CHF"
) -> dict[str, Any]:
    data = await api.ok(
        OFFER,
        {
            "i": {
                "bidId": bid,
                "partnerId": gid("Partner", partner_id),
                "amount": {"amount": amount, "currency": currency},
                "message": "We build shops.",
            }
        },
        token=token,
    )
    return data["makeOffer"]  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


@pytest.fixture
async def market(api: Api, world: Any, sessionmaker: SM) -> dict[str, Any]:
    """The demo partner's listing (unpublished) takes fr, de / CH / WEB_HOSTING; four
    other partners with unpublished listings."""
    rep = await login(api, "rep@partner.example")
    alpine = world.partner_id
    result = await set_profile(
        api, rep, alpine, languages=["fr", "de"], regions=["CH"], families=["WEB_HOSTING"]
    )
    assert result["userErrors"] == []
    entry = result["entry"]
    assert {k: v for k, v in entry.items() if k != "id"} == {
        "languages": ["de", "fr"],
        "regions": ["CH"],
        "productFamilies": ["WEB_HOSTING"],
        "published": False,
    }
    vaud, vaud_rep = await make_partner(sessionmaker, "Vaud Web", regions=("CH-VD",))
    berne, berne_rep = await make_partner(sessionmaker, "Berne Web", languages=("de",))
    ghost, _ = await make_partner(sessionmaker, "Ghost Web", status=PartnerStatus.SUSPENDED)
    cloud, cloud_rep = await make_partner(
        sessionmaker, "Cloud Romand", families=("CLOUD", "STORAGE")
    )
    return {
        "alpine": alpine,
        "alpine_rep": rep,
        "vaud": vaud,
        "vaud_rep": vaud_rep,
        "berne": berne,
        "berne_rep": berne_rep,
        "ghost": ghost,
        "cloud": cloud,
        "cloud_rep": cloud_rep,
    }


async def test_client_bid_goes_out_once_and_only_the_awarded_partner_learns_the_contact(
    api: Api, market: dict[str, Any], sessionmaker: SM, settings: Settings
) -> None:
    sm = sessionmaker
    client = await login(api, "rep@full.example")
    data = (await api.ok(POST, {"i": bid_input()}, token=client))["postBid"]
    assert data["userErrors"] == []
    # Alpine (CH covers CH-VD), Vaud, Cloud Romand (STORAGE); not Berne (de), not Ghost.
    assert data["matchingPartners"] == 3
    assert data["verificationSent"] is False
    bid = data["bid"]
    assert bid["status"] == "OPEN"
    assert bid["budget"] == {"amount": "4800.00", "currency": "CHF"}
    assert bid["authorContact"] == {"name": "Claire Favre", "email": "rep@full.example"}
    assert len(await pending(sm, FAN_OUT_BID)) == 1  # one job, whatever the partner count

    # Before the fan-out ran, no partner sees it.
    alpine_rep = market["alpine_rep"]
    received = await api.ok(RECEIVED, {"p": gid("Partner", market["alpine"])}, token=alpine_rep)
    assert received["receivedBids"]["edges"] == []

    assert await run_fan_out_jobs(sm) >= 2
    async with sm() as session:
        delivered = set(
            await session.scalars(select(BidDelivery.partner_id).order_by(BidDelivery.partner_id))
        )
    assert delivered == {market["alpine"], market["vaud"], market["cloud"]}
    received_mails = await emails(sm, "bid_received")
    assert sorted(m.dedupe_key or "" for m in received_mails) == sorted(
        f"bid:{bid_pk(bid['id'])}:partner:{p}"
        for p in (market["alpine"], market["vaud"], market["cloud"])
    )
    by_to = {m.payload["to"]: m.payload["context"] for m in received_mails}
    assert set(by_to) == {"rep@partner.example", market["vaud_rep"], market["cloud_rep"]}
    context = by_to["rep@partner.example"]
    assert context["budget"] == "CHF 4800.00"
    # The author's contact details are in no partner's email.
    assert "rep@full.example" not in str(received_mails[0].payload)
    assert "Claire" not in str([m.payload for m in received_mails])

    # A redelivered chunk changes nothing: no second delivery, no second email.
    async with transaction(sm) as session:
        again = await use_cases.deliver_chunk(
            session,
            ChunkRange(bid_pk(bid["id"]), 0, 10**9),
            public_url="https://x.example",
            now=utcnow(),
        )
    assert (again.delivered, again.emailed) == (0, 0)
    assert await count(sm, BidDelivery) == 3
    assert len(await emails(sm, "bid_received")) == 3

    # The partners see the bid without its author.
    node = (await api.ok(RECEIVED, {"p": gid("Partner", market["alpine"])}, token=alpine_rep))[
        "receivedBids"
    ]["edges"][0]["node"]
    assert node["id"] == bid["id"]
    assert node["authorContact"] is None
    assert node["matchingPartners"] is None
    offers_query = """query($p: ID!) { receivedBids(partnerId: $p) { edges { node {
        offers { id } } } } }"""
    forbidden = await api.gql(offers_query, {"p": gid("Partner", market["alpine"])}, alpine_rep)
    assert forbidden.error_codes() == ["FORBIDDEN"]  # the offers are the author's
    assert forbidden.data["receivedBids"]["edges"][0]["node"]["offers"] is None

    # Offers: partners that received it, once each.
    vaud_token = await login(api, market["vaud_rep"])
    cloud_token = await login(api, market["cloud_rep"])
    berne_token = await login(api, market["berne_rep"])
    first = await offer(api, alpine_rep, bid["id"], market["alpine"], "4700.00")
    assert first["userErrors"] == []
    assert first["offer"]["partnerName"] == "Alpine Web Partners"
    assert codes(await offer(api, alpine_rep, bid["id"], market["alpine"])) == ["OFFER_EXISTS"]
    vaud_offer = await offer(api, vaud_token, bid["id"], market["vaud"], "4200.50")
    assert vaud_offer["userErrors"] == []
    assert codes(await offer(api, berne_token, bid["id"], market["berne"])) == ["OFFER_NOT_ALLOWED"]
    # Someone else's partner id: it is not yours (looks missing).
    assert codes(await offer(api, berne_token, bid["id"], market["vaud"])) == ["NOT_FOUND"]
    assert codes(await offer(api, cloud_token, bid["id"], market["cloud"], currency="EUR")) == [
        "CURRENCY_MISMATCH"
    ]
    # A collaborator of a partner does not act on bids.
    collab = await login(api, "collab@partner.example")
    assert codes(await offer(api, collab, bid["id"], market["alpine"])) == ["NOT_FOUND"]
    assert await count(sm, Offer) == 2

    # A partner that did not receive it cannot look it up either.
    lookup = "query($id: ID!) { node(id: $id) { ... on Bid { id description } } }"
    assert (await api.ok(lookup, {"id": bid["id"]}, token=berne_token))["node"] is None
    assert (await api.ok(lookup, {"id": bid["id"]}, token=vaud_token))["node"]["id"] == bid["id"]

    # The author sees both offers and awards Vaud's.
    mine = (await api.ok(MY_BIDS, token=client))["myBids"]["edges"][0]["node"]
    assert mine["matchingPartners"] == 3
    assert [o["amount"]["amount"] for o in mine["offers"]] == ["4700.00", "4200.50"]
    vaud_offer_id = vaud_offer["offer"]["id"]
    # Only the author awards: a partner trying looks like a missing offer.
    denied = await api.ok(AWARD, {"i": {"offerId": vaud_offer_id}}, token=vaud_token)
    assert codes(denied["awardOffer"]) == ["NOT_FOUND"]
    awarded = (await api.ok(AWARD, {"i": {"offerId": vaud_offer_id}}, token=client))["awardOffer"]
    assert awarded["userErrors"] == []
    assert awarded["bid"]["status"] == "AWARDED"
    assert awarded["offer"] == {"id": vaud_offer_id, "awarded": True}
    again_award = await api.ok(AWARD, {"i": {"offerId": first["offer"]["id"]}}, token=client)
    assert codes(again_award["awardOffer"]) == ["ALREADY_AWARDED"]

    # Contact details: the awarded partner only.
    vaud_view = (await api.ok(RECEIVED, {"p": gid("Partner", market["vaud"])}, token=vaud_token))[
        "receivedBids"
    ]["edges"][0]["node"]
    assert vaud_view["authorContact"] == {"name": "Claire Favre", "email": "rep@full.example"}
    assert vaud_view["myOffer"]["id"] == vaud_offer_id
    alpine_view = (
        await api.ok(RECEIVED, {"p": gid("Partner", market["alpine"])}, token=alpine_rep)
    )["receivedBids"]["edges"][0]["node"]
    assert alpine_view["authorContact"] is None
    assert alpine_view["status"] == "AWARDED"
    awarded_mails = await emails(sm, "bid_awarded")
    assert [m.payload["to"] for m in awarded_mails] == [market["vaud_rep"]]
    assert awarded_mails[0].payload["context"]["author_email"] == "rep@full.example"
    assert awarded_mails[0].payload["context"]["amount"] == "CHF 4200.50"
    # Every email this flow queued renders with its template (as the worker will).
    for mail in [*received_mails, *awarded_mails]:
        rendered = render_email(
            mail.payload["template"],
            mail.payload["context"],
            to=mail.payload["to"],
            outbox_id=mail.id,
            settings=settings,
        )
        assert rendered["To"] == mail.payload["to"]
    body = rendered.get_body(("plain",))
    assert body is not None
    assert "rep@full.example" in body.get_content()

    # No offer on an awarded bid.
    assert codes(await offer(api, cloud_token, bid["id"], market["cloud"])) == ["BID_CLOSED"]

    async with sm() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("bid.%"))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["bid.post", "bid.offer", "bid.offer", "bid.award"]


def bid_pk(global_id: str) -> int:
    from strawberry import relay

    return int(relay.GlobalID.from_id(global_id).node_id)


async def test_visitor_bid_goes_out_after_the_email_link_which_works_once(
    api: Api, market: dict[str, Any], sessionmaker: SM, settings: Settings
) -> None:
    sm = sessionmaker
    data = (
        await api.ok(
            POST, {"i": bid_input(email=" Visitor@Example.com ", contactName="Vera Visitor")}
        )
    )["postBid"]
    assert data["userErrors"] == []
    assert data["verificationSent"] is True
    assert data["matchingPartners"] is None
    assert data["bid"]["status"] == "DRAFT_UNVERIFIED"
    assert await pending(sm, FAN_OUT_BID) == []
    [mail] = await emails(sm, "bid_verify_email")
    assert mail.payload["to"] == "visitor@example.com"
    url = mail.payload["context"]["verify_url"]
    token = url.split("token=", 1)[1]
    async with sm() as session:
        stored = await session.scalar(select(Bid))
        assert stored is not None
        assert stored.verification_token_hash is not None
        assert token not in stored.verification_token_hash  # only the digest is stored
    await run_fan_out_jobs(sm)
    assert await count(sm, BidDelivery) == 0  # unverified: it does not go out

    wrong = (await api.ok(VERIFY, {"i": {"token": "pgb_not-a-real-token"}}))["verifyBidEmail"]
    assert codes(wrong) == ["BID_LINK_INVALID"]

    verified = (await api.ok(VERIFY, {"i": {"token": token}}))["verifyBidEmail"]
    assert verified["userErrors"] == []
    assert verified["matchingPartners"] == 3
    assert verified["bid"]["status"] == "OPEN"
    author_token = verified["authorToken"]
    assert author_token
    assert len(await pending(sm, FAN_OUT_BID)) == 1

    used = (await api.ok(VERIFY, {"i": {"token": token}}))["verifyBidEmail"]
    assert codes(used) == ["BID_LINK_USED"]
    assert len(await pending(sm, FAN_OUT_BID)) == 1  # nothing sent twice

    [published] = await emails(sm, "bid_published")
    assert published.payload["context"]["matching_partners"] == "3"
    for queued in (mail, published):  # both render with their templates, as the worker will
        rendered = render_email(
            queued.payload["template"],
            queued.payload["context"],
            to=queued.payload["to"],
            outbox_id=queued.id,
            settings=settings,
        )
        assert "Vera Visitor" in str(rendered.get_body(("plain",)))
    assert author_token in published.payload["context"]["manage_url"]

    await run_fan_out_jobs(sm)
    assert await count(sm, BidDelivery) == 3
    made = await offer(api, market["alpine_rep"], verified["bid"]["id"], market["alpine"])
    assert made["userErrors"] == []

    # The visitor manages the bid with the secret.
    query = """query($t: String!) { authoredBid(authorToken: $t) {
        status authorContact { name email } offers { id partnerName } } }"""
    assert (await api.ok(query, {"t": "pga_wrong"}))["authoredBid"] is None
    mine = (await api.ok(query, {"t": author_token}))["authoredBid"]
    assert mine["authorContact"] == {"name": "Vera Visitor", "email": "visitor@example.com"}
    [their_offer] = mine["offers"]
    without = (await api.ok(AWARD, {"i": {"offerId": their_offer["id"]}}))["awardOffer"]
    assert codes(without) == ["NOT_FOUND"]
    awarded = (
        await api.ok(AWARD, {"i": {"offerId": their_offer["id"], "authorToken": author_token}})
    )["awardOffer"]
    assert awarded["userErrors"] == []
    assert awarded["bid"]["status"] == "AWARDED"
    [mail] = await emails(sm, "bid_awarded")
    assert mail.payload["context"]["author_email"] == "visitor@example.com"


async def test_no_matching_partner_is_refused_and_nothing_is_written(
    api: Api, market: dict[str, Any], sessionmaker: SM
) -> None:
    client = await login(api, "rep@full.example")
    before = await count(sessionmaker, OutboxMessage), await count(sessionmaker, AuditEvent)
    for variables, token in (
        (bid_input(language="it"), client),
        (bid_input(region="FR-75C"), client),
        (bid_input(productFamilies=["DOMAINS"]), client),
        (bid_input(language="it", email="v@example.com", contactName="V"), None),
    ):
        data = (await api.ok(POST, {"i": variables}, token=token))["postBid"]
        assert codes(data) == ["NO_MATCHING_PARTNER"]
        assert data["bid"] is None
    assert await count(sessionmaker, Bid) == 0
    after = await count(sessionmaker, OutboxMessage), await count(sessionmaker, AuditEvent)
    assert after == before


async def test_a_partner_never_receives_its_own_members_bid(
    api: Api, market: dict[str, Any], sessionmaker: SM
) -> None:
    # Alpine's representative posts: Alpine is left out, Vaud and Cloud Romand receive it.
    data = (await api.ok(POST, {"i": bid_input()}, token=market["alpine_rep"]))["postBid"]
    assert data["matchingPartners"] == 2
    await run_fan_out_jobs(sessionmaker)
    async with sessionmaker() as session:
        delivered = set(await session.scalars(select(BidDelivery.partner_id)))
    assert delivered == {market["vaud"], market["cloud"]}


async def test_visitor_bid_with_no_partner_left_at_verification_is_no_match(
    api: Api, market: dict[str, Any], sessionmaker: SM
) -> None:
    data = (
        await api.ok(
            POST,
            {"i": bid_input(productFamilies=["CLOUD"], email="v@example.com", contactName="Vic")},
        )
    )["postBid"]
    assert data["userErrors"] == []
    [mail] = await emails(sessionmaker, "bid_verify_email")
    token = mail.payload["context"]["verify_url"].split("token=", 1)[1]
    # Meanwhile the only CLOUD partner stops taking such bids (its listing drops them).
    cloud_token = await login(api, market["cloud_rep"])
    changed = await set_profile(api, cloud_token, market["cloud"], families=[])
    assert changed["userErrors"] == []
    assert changed["entry"]["productFamilies"] == []
    verified = (await api.ok(VERIFY, {"i": {"token": token}}))["verifyBidEmail"]
    assert verified["userErrors"] == []
    assert verified["matchingPartners"] == 0
    assert verified["bid"]["status"] == "NO_MATCH"
    assert await pending(sessionmaker, FAN_OUT_BID) == []
    [published] = await emails(sessionmaker, "bid_published")
    assert published.payload["context"]["matching_partners"] == "0"
    assert codes((await api.ok(VERIFY, {"i": {"token": token}}))["verifyBidEmail"]) == [
        "BID_LINK_USED"
    ]


async def test_expired_bids_take_no_offer_and_no_award(
    api: Api, market: dict[str, Any], sessionmaker: SM
) -> None:
    sm = sessionmaker
    client = await login(api, "rep@full.example")
    bid = (await api.ok(POST, {"i": bid_input()}, token=client))["postBid"]["bid"]
    visitor = (await api.ok(POST, {"i": bid_input(email="late@example.com", contactName="Late")}))[
        "postBid"
    ]["bid"]
    await run_fan_out_jobs(sm)
    made = await offer(api, market["alpine_rep"], bid["id"], market["alpine"])
    assert made["userErrors"] == []
    [mail] = await emails(sm, "bid_verify_email")
    token = mail.payload["context"]["verify_url"].split("token=", 1)[1]

    # Time passes: both deadlines are behind us; the expiry job has not run yet.
    async with transaction(sm) as session:
        await session.execute(update(Bid).values(deadline=utcnow() - timedelta(minutes=1)))

    node = (await api.ok(MY_BIDS, token=client))["myBids"]["edges"][0]["node"]
    assert node["status"] == "EXPIRED"  # computed on read
    vaud = await login(api, market["vaud_rep"])
    assert codes(await offer(api, vaud, bid["id"], market["vaud"])) == ["BID_CLOSED"]
    award = await api.ok(AWARD, {"i": {"offerId": made["offer"]["id"]}}, token=client)
    assert codes(award["awardOffer"]) == ["BID_CLOSED"]
    assert codes((await api.ok(VERIFY, {"i": {"token": token}}))["verifyBidEmail"]) == [
        "BID_CLOSED"
    ]
    assert await count(sm, Offer) == 1

    # The job records it, once, with an audit event each.
    expired = await use_cases.expire_bids(sm)
    assert expired == sorted([bid_pk(bid["id"]), bid_pk(visitor["id"])])
    assert await use_cases.expire_bids(sm) == []
    async with sm() as session:
        statuses = set(await session.scalars(select(Bid.status)))
        audits = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "bid.expire"))
        )
    assert {s.value for s in statuses} == {"EXPIRED"}
    assert sorted(a.subject_id for a in audits) == expired
    assert {a.before["status"] for a in audits if a.before} == {"OPEN", "DRAFT_UNVERIFIED"}


BAD_INPUT: list[tuple[dict[str, Any], str, str]] = [
    ({"description": "too short"}, "DESCRIPTION_TOO_SHORT", "description"),
    ({"productFamilies": []}, "PRODUCT_FAMILY_REQUIRED", "productFamilies"),
    ({"budget": {"amount": "0", "currency": "CHF"}}, "INVALID_AMOUNT", "budget"),
    ({"budget": {"amount": "10.001", "currency": "CHF"}}, "INVALID_AMOUNT", "budget"),
    ({"language": "french"}, "INVALID_LANGUAGE", "language"),
    ({"region": "Vaud"}, "INVALID_REGION", "region"),
    ({"deadline": "soon"}, "INVALID_DEADLINE", "deadline"),
    ({"deadline": "2020-01-01T00:00:00+00:00"}, "INVALID_DEADLINE", "deadline"),
    ({"deadline": "2020-01-01T00:00:00"}, "INVALID_DEADLINE", "deadline"),
]


async def test_bad_bid_input_is_refused_with_the_field(
    api: Api, market: dict[str, Any], sessionmaker: SM
) -> None:
    client = await login(api, "rep@full.example")
    for overrides, code, field in BAD_INPUT:
        if overrides.get("deadline") == "soon":
            overrides = {"deadline": (utcnow() + timedelta(minutes=5)).isoformat()}
        data = (await api.ok(POST, {"i": bid_input(**overrides)}, token=client))["postBid"]
        assert [(e["field"], e["code"]) for e in data["userErrors"]] == [([field], code)], overrides
        assert data["userErrors"][0]["message"]
    assert await count(sessionmaker, Bid) == 0
    assert await count(sessionmaker, OutboxMessage) == 0


async def test_visitor_needs_an_email_and_a_name(
    api: Api, market: dict[str, Any], sessionmaker: SM
) -> None:
    assert codes((await api.ok(POST, {"i": bid_input()}))["postBid"]) == ["EMAIL_REQUIRED"]
    assert codes((await api.ok(POST, {"i": bid_input(email="nope")}))["postBid"]) == [
        "INVALID_EMAIL"
    ]
    assert codes((await api.ok(POST, {"i": bid_input(email="a@b.example")}))["postBid"]) == [
        "INVALID_INPUT"
    ]
    assert await count(sessionmaker, Bid) == 0


async def matching(sm: SM, language: str, region: str, *families: str) -> set[int]:
    """The partners a bid with these criteria goes out to (no author)."""
    criteria = BidCriteria(language, region, frozenset(families))
    async with sm() as session:
        return set(await session.scalars(use_cases.matching_partners(criteria, None)))


DIRECTORY = """query($r: [String!]) { directory(regions: $r, languages: ["fr"], first: 10) {
    edges { node { name } } } }"""


async def test_the_directory_listing_is_the_bid_profile_published_or_not(
    api: Api, market: dict[str, Any], sessionmaker: SM
) -> None:
    sm = sessionmaker
    alpine, vaud, berne, cloud = (market[k] for k in ("alpine", "vaud", "berne", "cloud"))
    # Every listing is unpublished (none in the public directory), yet they take bids.
    assert (await api.ok(DIRECTORY, {"r": None}))["directory"]["edges"] == []
    assert await matching(sm, "fr", "CH-VD", "WEB_HOSTING", "STORAGE") == {alpine, vaud, cloud}
    # A country covers its subdivisions, not the other way round (as the directory's filter).
    assert await matching(sm, "fr", "CH", "WEB_HOSTING", "STORAGE") == {alpine, cloud}
    assert await matching(sm, "de", "CH-ZH", "WEB_HOSTING") == {alpine, berne}
    # A partner without a listing receives no bid.
    bare, _ = await make_partner(sm, "Bare Web", listing=False)
    assert bare not in await matching(sm, "fr", "CH-VD", "WEB_HOSTING")

    # Publishing changes what the directory shows, not who receives bids; the directory's
    # region filter follows the same rule.
    vaud_token = await login(api, market["vaud_rep"])
    for token, partner in ((market["alpine_rep"], alpine), (vaud_token, vaud)):
        assert (await set_profile(api, token, partner, published=True))["userErrors"] == []

    def names(result: dict[str, Any]) -> set[str]:
        return {e["node"]["name"] for e in result["directory"]["edges"]}

    assert names(await api.ok(DIRECTORY, {"r": ["CH-VD"]})) == {"Alpine Web Partners", "Vaud Web"}
    assert names(await api.ok(DIRECTORY, {"r": ["CH"]})) == {"Alpine Web Partners"}
    assert await matching(sm, "fr", "CH-VD", "WEB_HOSTING", "STORAGE") == {alpine, vaud, cloud}
    assert (await set_profile(api, vaud_token, vaud, published=False))["userErrors"] == []
    assert await matching(sm, "fr", "CH-VD", "WEB_HOSTING", "STORAGE") == {alpine, vaud, cloud}

    # The listing's checks apply; a refused edit changes nothing.
    rep = market["alpine_rep"]
    for values, code in (
        ({"languages": ["xx1"]}, "INVALID_LANGUAGE"),
        ({"regions": ["Vaud"]}, "INVALID_REGION"),
    ):
        assert codes(await set_profile(api, rep, alpine, **values)) == [code]
    # Only the partner's legal representative edits it (the directory's rule).
    collab = await login(api, "collab@partner.example")
    admin = await login(api, "admin@partner.example")
    for token in (collab, admin):
        assert codes(await set_profile(api, token, alpine, languages=["it"])) == [
            "ROLE_NOT_ALLOWED"
        ]
    assert codes(await set_profile(api, vaud_token, alpine, languages=["it"])) == ["NOT_FOUND"]
    assert await matching(sm, "fr", "CH-VD", "WEB_HOSTING") == {alpine, vaud}

    changed = await set_profile(api, rep, alpine, languages=["it"], regions=["ch-ti"])
    assert changed["userErrors"] == []
    assert (changed["entry"]["languages"], changed["entry"]["regions"]) == (["it"], ["CH-TI"])
    assert await matching(sm, "fr", "CH-VD", "WEB_HOSTING") == {vaud}
    assert await matching(sm, "it", "CH-TI", "WEB_HOSTING") == {alpine}
    assert await matching(sm, "it", "CH", "WEB_HOSTING") == set()


async def test_chunks_cover_every_partner_once_and_a_failed_chunk_writes_nothing(
    api: Api, market: dict[str, Any], sessionmaker: SM, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = sessionmaker
    extra = [(await make_partner(sm, f"Extra {i}", regions=("CH-VD",)))[0] for i in range(4)]
    monkeypatch.setattr(bid_workers, "CHUNK_SIZE", 2)
    client = await login(api, "rep@full.example")
    data = (await api.ok(POST, {"i": bid_input()}, token=client))["postBid"]
    assert data["matchingPartners"] == 7
    [plan] = await pending(sm, FAN_OUT_BID)
    chunk_ids = await bid_workers.run_fan_out(plan.id, sessionmaker=sm)
    assert len(chunk_ids) == 4  # 2 + 2 + 2 + 1
    assert await bid_workers.run_fan_out(plan.id, sessionmaker=sm) == []  # redelivered: no-op
    chunks = await pending(sm, DELIVER_BID_CHUNK)
    assert [c.id for c in chunks] == chunk_ids
    ranges = [(c.payload["after_partner_id"], c.payload["through_partner_id"]) for c in chunks]
    assert ranges[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))

    # A worker dies in the middle of a chunk: its transaction commits nothing.
    class Killed(Exception):
        pass

    async def dies(session: AsyncSession, message: OutboxMessage) -> None:
        await bid_workers.deliver_bid_chunk_handler(session, message)
        raise Killed

    with pytest.raises(Killed):
        await process_once(chunks[0].id, dies, sessionmaker=sm)
    assert await count(sm, BidDelivery) == 0
    assert await emails(sm, "bid_received") == []

    # Redelivered (twice, concurrently): each partner exactly once.
    async def run(outbox_id: int) -> bool:
        return await process_once(outbox_id, bid_workers.deliver_bid_chunk_handler, sessionmaker=sm)

    results = await asyncio.gather(*(run(c.id) for c in chunks), *(run(c.id) for c in chunks))
    assert sum(results) == len(chunks)
    async with sm() as session:
        delivered = list(await session.scalars(select(BidDelivery.partner_id)))
    assert sorted(delivered) == sorted({market["alpine"], market["vaud"], market["cloud"], *extra})
    keys = [m.dedupe_key for m in await emails(sm, "bid_received")]
    assert len(keys) == len(set(keys)) == 7


async def test_fan_out_through_a_stub_broker_worker(
    api: Api, market: dict[str, Any], sessionmaker: SM, settings: Settings
) -> None:
    """The real actors on a StubBroker worker: fan-out sends its chunks itself."""
    from workers.broker import build_broker, install_broker, reset_broker
    from workers.relay import relay_pending
    from workers.runtime import start_inprocess_worker, stop_inprocess_worker

    broker = install_broker(build_broker(settings, stub=True, max_retries=0), settings)
    worker = start_inprocess_worker(broker, worker_threads=2, idle_timeout_ms=100)
    try:
        client = await login(api, "rep@full.example")
        data = (await api.ok(POST, {"i": bid_input()}, token=client))["postBid"]
        assert data["matchingPartners"] == 3
        # Relay only the fan-out row (as the API's sweeper would after the commit).
        assert await relay_pending(sessionmaker, stale_after_seconds=30, broker=broker) == 1
        for _ in range(200):
            if await count(sessionmaker, BidDelivery) == 3 and not await pending(
                sessionmaker, DELIVER_BID_CHUNK
            ):
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(broker.join, "bids", timeout=10_000)  # type: ignore[attr-defined]
        assert await count(sessionmaker, BidDelivery) == 3
        assert await pending(sessionmaker, FAN_OUT_BID) == []
        assert len(await emails(sessionmaker, "bid_received")) == 3
    finally:
        await asyncio.to_thread(stop_inprocess_worker, worker)
        reset_broker()


async def test_expire_bids_actor_runs_on_the_worker_database(
    sessionmaker: SM, settings: Settings, world: Any
) -> None:
    from workers.runtime import configure, dispose_worker_engine

    async with transaction(sessionmaker) as session:
        user = await session.scalar(select(User).where(User.email == "rep@full.example"))
        assert user is not None
        session.add(
            Bid(
                author_user_id=user.id,
                author_email=user.email,
                author_name=user.full_name,
                description="x" * 30,
                product_families=["WEB_HOSTING"],
                budget_amount=100,
                currency=Currency.CHF,
                language="fr",
                region="CH",
                deadline=utcnow() - timedelta(seconds=1),
                status="OPEN",
                matching_partners=1,
            )
        )
    configure(settings)
    try:
        await bid_workers.expire_bids()
    finally:
        await dispose_worker_engine()
        configure(None)
    async with sessionmaker() as session:
        assert (await session.scalar(select(Bid.status))) == "EXPIRED"
