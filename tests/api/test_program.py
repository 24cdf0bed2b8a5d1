"""Issue 4 over HTTP, on SQLite and PostgreSQL: joining the program, the yearly review, the
directory, collaborators' rights, support access, Swiss Backup, EXTERNAL members.

Each bad input checks its userErrors code and that nothing was written (row counts).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Affiliate,
    AuditEvent,
    AuthSession,
    BackupAccount,
    BackupCustomer,
    CollaboratorClient,
    DirectoryListing,
    DirectoryListingTag,
    Grant,
    Membership,
    Order,
    Organization,
    OutboxMessage,
    Partner,
    PartnerApplication,
    PartnerReview,
    Product,
    ProgramEnrollment,
    SupportAccess,
    User,
    utcnow,
)
from domain.enums import (
    AccessLevel,
    GrantStatus,
    OrganizationKind,
    PartnerStatus,
    PaymentMethods,
    Role,
    Side,
)
from domain.money import Currency
from domain.program import ProgramKind
from resolvers.auth import new_support_code
from resolvers.demo import FULL_CLIENT, LIMITED_CLIENT, NEW_CLIENT, PARTNER, _demo_hash
from resolvers.program import absorb_external_memberships, run_yearly_review
from resolvers.support import add_staff
from resolvers.tokens import digest, new_secret
from tests.conftest import TEST_SECRET, Api, gid

Maker = async_sessionmaker[AsyncSession]
ERRORS = "userErrors { field message code }"
UID = "CHE-116.281.710"
SIRET = "73282932000074"

COUNTED: dict[str, Any] = {
    "applications": PartnerApplication,
    "partners": Partner,
    "enrollments": ProgramEnrollment,
    "affiliates": Affiliate,
    "listings": DirectoryListing,
    "tags": DirectoryListingTag,
    "support_accesses": SupportAccess,
    "collaborator_clients": CollaboratorClient,
    "backup_customers": BackupCustomer,
    "orders": Order,
    "audit": AuditEvent,
    "outbox": OutboxMessage,
}


# -- helpers ------------------------------------------------------------------------------


async def counts(maker: Maker) -> dict[str, int]:
    async with maker() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in COUNTED.items()
        }


async def token(maker: Maker, email: str) -> str:
    """A bearer token stored as `login` stores it (skips argon2 to keep tests fast)."""
    secret = new_secret("pgs")
    async with maker() as session, session.begin():
        user_id = await session.scalar(select(User.id).where(User.email == email))
        assert user_id is not None, email
        session.add(
            AuthSession(
                user_id=user_id,
                token_hash=digest(TEST_SECRET, secret),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    return secret


async def user(maker: Maker, email: str) -> int:
    async with maker() as session, session.begin():
        found = await session.scalar(select(User.id).where(User.email == email))
        if found is not None:
            return found
        row = User(
            email=email,
            full_name=email.split("@")[0],
            password_hash=_demo_hash(),
            email_verified_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        return row.id


async def member(maker: Maker, org_id: int, email: str, role: Role, **values: Any) -> int:
    user_id = await user(maker, email)
    async with maker() as session, session.begin():
        row = Membership(user_id=user_id, organization_id=org_id, role=role, **values)
        session.add(row)
        await session.flush()
        return row.id


async def organization(
    maker: Maker,
    name: str,
    rep_email: str,
    *,
    kind: OrganizationKind = OrganizationKind.COMPANY,
    currency: Currency = Currency.CHF,
) -> int:
    async with maker() as session, session.begin():
        org = Organization(name=name, kind=kind, currency=currency, support_code=new_support_code())
        session.add(org)
        await session.flush()
        org_id = org.id
    await member(maker, org_id, rep_email, Role.LEGAL_REPRESENTATIVE)
    return org_id


async def make_partner(maker: Maker, org_id: int) -> int:
    async with maker() as session, session.begin():
        partner = Partner(organization_id=org_id, status=PartnerStatus.ACTIVE)
        session.add(partner)
        await session.flush()
        return partner.id


APPLY = f"""mutation($i: ApplyToPartnerProgramInput!) {{ applyToPartnerProgram(input: $i) {{
  application {{ id status registrationNumber website refusalReasons {{ code field message }}
                 partner {{ id status name }} }}
  {ERRORS} }} }}"""
JOIN_AFFILIATE = f"""mutation($i: JoinAffiliateProgramInput!) {{
  joinAffiliateProgram(input: $i) {{ affiliate {{ organizationId }} {ERRORS} }} }}"""
UPDATE_LISTING = f"""mutation($i: UpdateDirectoryListingInput!) {{
  updateDirectoryListing(input: $i) {{
    entry {{ id name description website languages regions productFamilies verified published
             partner {{ id name }} }}
    {ERRORS} }} }}"""
DIRECTORY = """query($s: String, $l: [String!], $r: [String!], $f: [ProductFamily!], $n: Int,
  $a: String) {
  directory(search: $s, languages: $l, regions: $r, productFamilies: $f, first: $n, after: $a) {
    edges { cursor node { id name verified languages regions productFamilies } }
    pageInfo { hasNextPage endCursor } } }"""
SET_COLLAB = f"""mutation($i: SetCollaboratorClientsInput!) {{
  setCollaboratorClients(input: $i) {{ rights {{ userId allClients clientIds }} {ERRORS} }} }}"""
GRANT_SUPPORT = f"""mutation($i: GrantSupportAccessInput!) {{ grantSupportAccess(input: $i) {{
  supportAccess {{ id status reason expiresAt }} {ERRORS} }} }}"""
REVOKE_SUPPORT = f"""mutation($i: RevokeSupportAccessInput!) {{ revokeSupportAccess(input: $i) {{
  supportAccess {{ id status revokedAt }} {ERRORS} }} }}"""
SUPPORT_VIEW = """query($o: ID!) { supportView(organizationId: $o) {
  name supportCode premiumSupport accessReason products(first: 10) { edges { node { name } } }
} }"""
PARTNER_CLIENTS = """query { viewer { memberships { organization { name partner {
  clients(first: 20) { edges { node { id name } } } } } } } }"""
NODE_NAME = """query($id: ID!) { node(id: $id) { id ... on Client { name }
  ... on Product { name } ... on DirectoryEntry { name } ... on SupportAccess { status } } }"""


def codes(data: dict[str, Any], field: str) -> list[str]:
    return [e["code"] for e in data[field]["userErrors"]]


def application_input(org_id: int, **overrides: Any) -> dict[str, Any]:
    values = {
        "organizationId": gid("Organization", org_id),
        "registrationNumber": UID,
        "website": "https://www.helvetic-web.example.ch",
        "acceptedResellerConditions": True,
        "acceptedBidExclusivity": True,
    }
    values.update(overrides)
    return values


async def outbox_templates(maker: Maker, after_id: int = 0) -> list[tuple[str, str]]:
    async with maker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id > after_id, OutboxMessage.actor_name == "send_email")
            .order_by(OutboxMessage.id)
        )
        return [(m.payload["template"], m.payload["to"]) for m in rows]


# -- joining ------------------------------------------------------------------------------


async def test_eligible_company_becomes_an_active_partner(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    org_id = await organization(sessionmaker, "Helvetic Web Sàrl", "rep@helvetic.example")
    rep = await token(sessionmaker, "rep@helvetic.example")
    data = await api.ok(
        APPLY,
        {"i": application_input(org_id, registrationNumber="che 116 281 710 mwst")},
        token=rep,
    )
    assert data["applyToPartnerProgram"]["userErrors"] == []
    application = data["applyToPartnerProgram"]["application"]
    assert application["status"] == "ACCEPTED"
    assert application["registrationNumber"] == UID
    assert application["refusalReasons"] == []
    assert application["partner"]["status"] == "ACTIVE"
    assert application["partner"]["name"] == "Helvetic Web Sàrl"
    async with sessionmaker() as session:
        partner = await session.scalar(select(Partner).where(Partner.organization_id == org_id))
        assert partner is not None
        assert partner.status is PartnerStatus.ACTIVE
        org = await session.get(Organization, org_id)
        assert org is not None
        assert org.registration_number == UID
        assert org.website == "https://www.helvetic-web.example.ch"
        enrollment = await session.get(ProgramEnrollment, org_id)
        assert enrollment is not None
        assert enrollment.program is ProgramKind.PARTNER
        audit = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "partner_application.accept")
        )
        assert audit is not None
        assert audit.after is not None
        assert audit.after["partner_id"] == partner.id
    assert await outbox_templates(sessionmaker) == [
        ("partner_application_accepted", "rep@helvetic.example")
    ]

    # Applying again: already a partner, nothing written.
    before = await counts(sessionmaker)
    again = await api.ok(APPLY, {"i": application_input(org_id)}, token=rep)
    assert codes(again, "applyToPartnerProgram") == ["ALREADY_PARTNER"]
    assert await counts(sessionmaker) == before


async def test_missing_registration_number_writes_nothing(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    org_id = await organization(sessionmaker, "No Number SA", "rep@nonumber.example")
    rep = await token(sessionmaker, "rep@nonumber.example")
    before = await counts(sessionmaker)
    data = await api.ok(APPLY, {"i": application_input(org_id, registrationNumber=None)}, rep)
    assert data["applyToPartnerProgram"]["application"] is None
    assert data["applyToPartnerProgram"]["userErrors"] == [
        {
            "field": ["registrationNumber"],
            "code": "REGISTRATION_NUMBER_REQUIRED",
            "message": "A registration number is required (Swiss UID, SIRET or an equivalent).",
        }
    ]
    # Several form errors come back together.
    data = await api.ok(
        APPLY,
        {"i": application_input(org_id, registrationNumber="CHE-116.281.711", website="nope")},
        rep,
    )
    assert codes(data, "applyToPartnerProgram") == [
        "REGISTRATION_NUMBER_INVALID",
        "WEBSITE_INVALID",
    ]
    assert await counts(sessionmaker) == before


async def test_refused_application_is_stored_with_its_reasons(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    org_id = await organization(sessionmaker, "Half Hearted GmbH", "rep@half.example")
    rep = await token(sessionmaker, "rep@half.example")
    data = await api.ok(
        APPLY,
        {"i": application_input(org_id, registrationNumber=SIRET, acceptedBidExclusivity=False)},
        rep,
    )
    assert data["applyToPartnerProgram"]["userErrors"] == []
    application = data["applyToPartnerProgram"]["application"]
    assert application["status"] == "REFUSED"
    assert application["partner"] is None
    assert [r["code"] for r in application["refusalReasons"]] == ["BID_EXCLUSIVITY_NOT_ACCEPTED"]
    async with sessionmaker() as session:
        assert (
            await session.scalar(select(Partner.id).where(Partner.organization_id == org_id))
        ) is None
        assert await session.get(ProgramEnrollment, org_id) is None
    assert await outbox_templates(sessionmaker) == [
        ("partner_application_refused", "rep@half.example")
    ]

    # The applicant sees why, later too; an outsider sees nothing.
    history = """query($o: ID!) { partnerApplications(organizationId: $o) {
        edges { node { status refusalReasons { code message } } } } }"""
    seen = await api.ok(history, {"o": gid("Organization", org_id)}, rep)
    nodes = [e["node"] for e in seen["partnerApplications"]["edges"]]
    assert nodes[0]["status"] == "REFUSED"
    assert "bids" in nodes[0]["refusalReasons"][0]["message"]
    outsider = await token(sessionmaker, "rep@new.example")
    hidden = await api.ok(history, {"o": gid("Organization", org_id)}, outsider)
    assert hidden["partnerApplications"]["edges"] == []
    node = await api.ok(NODE_NAME, {"id": application["id"]}, outsider)
    assert node["node"] is None


async def test_only_a_legal_representative_applies(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    org_id = await organization(sessionmaker, "Roles AG", "rep@roles.example")
    await member(sessionmaker, org_id, "admin@roles.example", Role.ADMINISTRATOR)
    before = await counts(sessionmaker)
    admin = await token(sessionmaker, "admin@roles.example")
    data = await api.ok(APPLY, {"i": application_input(org_id)}, admin)
    assert codes(data, "applyToPartnerProgram") == ["ROLE_NOT_ALLOWED"]
    stranger = await token(sessionmaker, "rep@new.example")
    data = await api.ok(APPLY, {"i": application_input(org_id)}, stranger)
    assert codes(data, "applyToPartnerProgram") == ["NOT_FOUND"]
    assert await counts(sessionmaker) == before


async def test_partner_and_affiliate_exclude_each_other(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    # An individual joins the Affiliate Program...
    solo = await organization(
        sessionmaker, "Jane Doe", "jane@solo.example", kind=OrganizationKind.INDIVIDUAL
    )
    jane = await token(sessionmaker, "jane@solo.example")
    data = await api.ok(JOIN_AFFILIATE, {"i": {"organizationId": gid("Organization", solo)}}, jane)
    assert data["joinAffiliateProgram"]["userErrors"] == []
    again = await api.ok(JOIN_AFFILIATE, {"i": {"organizationId": gid("Organization", solo)}}, jane)
    assert codes(again, "joinAffiliateProgram") == ["ALREADY_AFFILIATE"]
    # ... and is refused as a Partner, with both reasons.
    data = await api.ok(APPLY, {"i": application_input(solo)}, jane)
    reasons = data["applyToPartnerProgram"]["application"]["refusalReasons"]
    assert [r["code"] for r in reasons] == ["NOT_A_COMPANY", "IS_AFFILIATE"]

    # A partner cannot join the Affiliate Program; nor can a company.
    rep = await token(sessionmaker, "rep@partner.example")
    before = await counts(sessionmaker)
    partner_org = world.organizations[PARTNER]
    data = await api.ok(
        JOIN_AFFILIATE, {"i": {"organizationId": gid("Organization", partner_org)}}, rep
    )
    assert codes(data, "joinAffiliateProgram") == ["PARTNER_CANNOT_BE_AFFILIATE"]
    client = await token(sessionmaker, "rep@new.example")
    data = await api.ok(
        JOIN_AFFILIATE,
        {"i": {"organizationId": gid("Organization", world.organizations[NEW_CLIENT])}},
        client,
    )
    assert codes(data, "joinAffiliateProgram") == ["NOT_AN_INDIVIDUAL"]
    assert await counts(sessionmaker) == before

    # The database holds it too: an affiliate needs an AFFILIATE enrollment, one per org.
    org_id = await organization(sessionmaker, "Both Ways", "rep@both.example")
    async with sessionmaker() as session, session.begin():
        session.add(ProgramEnrollment(organization_id=org_id, program=ProgramKind.PARTNER))
    with pytest.raises(IntegrityError):
        async with sessionmaker() as session, session.begin():
            session.add(
                Affiliate(
                    organization_id=org_id,
                    program=ProgramKind.AFFILIATE,
                    joined_by_user_id=world.users["rep@partner.example"],
                )
            )
    with pytest.raises(IntegrityError):
        async with sessionmaker() as session, session.begin():
            session.add(ProgramEnrollment(organization_id=org_id, program=ProgramKind.AFFILIATE))


# -- yearly review ------------------------------------------------------------------------


async def test_yearly_review_flags_small_partners_once_and_deletes_nothing(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    # A big partner: 10 public clouds under a FULL grant = 10 x 25.00 x 12 = CHF 3000.
    big_org = await organization(sessionmaker, "Big Reseller", "rep@big.example")
    big = await make_partner(sessionmaker, big_org)
    client_org = await organization(sessionmaker, "Cloud Client", "rep@cloudclient.example")
    async with sessionmaker() as session, session.begin():
        session.add(
            Product(
                organization_id=client_org,
                kind="public_cloud",
                family="CLOUD",
                name="cloud",
                quantity=10,
            )
        )
        session.add(
            Grant(
                partner_id=big,
                client_id=client_org,
                initiated_by=Side.CLIENT,
                status=GrantStatus.ACTIVE,
                requested_level=AccessLevel.FULL,
                requested_payment_methods=PaymentMethods.CLIENT,
                level=AccessLevel.FULL,
                payment_methods=PaymentMethods.CLIENT,
                invited_by_user_id=await user(sessionmaker, "rep@cloudclient.example"),
            )
        )
    grants_before = await counts(sessionmaker)

    summary = await run_yearly_review(sessionmaker, 2026)
    assert summary.reviewed == 2
    assert summary.flagged_partner_ids == [world.partner_id]
    async with sessionmaker() as session:
        reviews = {r.partner_id: r for r in await session.scalars(select(PartnerReview))}
        # Demo partner: FULL client (9.92 + 5 x 1.50 + 0.92) x 12 = 220.08, LIMITED granted
        # products (9.92 + 12 x 1.50) x 12 = 335.04; together 555.12 < 2000.
        assert reviews[world.partner_id].managed_volume == Decimal("555.12")
        assert reviews[world.partner_id].flagged_below_minimum_at is not None
        assert reviews[big].managed_volume == Decimal("3000.00")
        assert reviews[big].flagged_below_minimum_at is None
        statuses = set(await session.scalars(select(Partner.status)))
        assert statuses == {PartnerStatus.ACTIVE}
    assert await outbox_templates(sessionmaker) == [
        ("partner_review_below_minimum", "rep@partner.example")
    ]
    after_first = await counts(sessionmaker)
    assert after_first["partners"] == grants_before["partners"]

    # Idempotent per (partner, year): a second run changes nothing.
    second = await run_yearly_review(sessionmaker, 2026)
    assert (second.reviewed, second.already_reviewed) == (0, 2)
    assert await counts(sessionmaker) == after_first

    # The partner sees its review.
    rep = await token(sessionmaker, "rep@partner.example")
    seen = await api.ok(
        """query($o: ID!) { partnerReviews(organizationId: $o) {
            year managedVolume { amount currency } flaggedBelowMinimumAt } }""",
        {"o": gid("Organization", world.organizations[PARTNER])},
        rep,
    )
    assert seen["partnerReviews"][0]["managedVolume"] == {"amount": "555.12", "currency": "CHF"}
    assert seen["partnerReviews"][0]["flaggedBelowMinimumAt"] is not None


# -- directory ----------------------------------------------------------------------------


async def test_partner_publishes_and_anyone_searches(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    rep = await token(sessionmaker, "rep@partner.example")
    partner_gid = gid("Partner", world.partner_id)
    data = await api.ok(
        UPDATE_LISTING,
        {
            "i": {
                "partnerId": partner_gid,
                "published": True,
                "description": "Websites and mail for Romandy's SMEs",
                "website": "https://alpine-web.example.ch",
                "languages": ["FR", "de"],
                "regions": ["ch-vd", "CH-GE"],
                "productFamilies": ["WEB_HOSTING", "MAIL_HOSTING"],
            }
        },
        rep,
    )
    assert data["updateDirectoryListing"]["userErrors"] == []
    entry = data["updateDirectoryListing"]["entry"]
    assert entry["languages"] == ["de", "fr"]
    assert entry["regions"] == ["CH-GE", "CH-VD"]
    assert entry["productFamilies"] == ["MAIL_HOSTING", "WEB_HOSTING"]
    assert entry["partner"] == {"id": partner_gid, "name": PARTNER}
    assert entry["verified"] is False  # admitted before applications existed

    # A second partner, admitted through an application: verified.
    org_id = await organization(sessionmaker, "Geneva Cloud", "rep@geneva.example")
    other = await token(sessionmaker, "rep@geneva.example")
    applied = await api.ok(APPLY, {"i": application_input(org_id)}, other)
    other_partner = applied["applyToPartnerProgram"]["application"]["partner"]["id"]
    data = await api.ok(
        UPDATE_LISTING,
        {
            "i": {
                "partnerId": other_partner,
                "published": True,
                "description": "Public cloud in Geneva",
                "languages": ["fr", "en"],
                "regions": ["CH"],
                "productFamilies": ["CLOUD"],
            }
        },
        other,
    )
    assert data["updateDirectoryListing"]["entry"]["verified"] is True

    async def names(token_: str | None = None, **variables: Any) -> list[str]:
        result = await api.ok(DIRECTORY, variables, token_)
        return [e["node"]["name"] for e in result["directory"]["edges"]]

    # Anonymous: no token at all.
    assert await names() == [PARTNER, "Geneva Cloud"]
    assert await names(s="ROMANDY") == [PARTNER]
    assert await names(s="geneva") == ["Geneva Cloud"]
    assert await names(s="100%") == []  # wildcards are literal
    assert await names(l=["en"]) == ["Geneva Cloud"]
    assert await names(l=["fr"], r=["CH-VD"]) == [PARTNER, "Geneva Cloud"]  # CH covers CH-VD
    assert await names(r=["CH-GE"], f=["CLOUD"]) == ["Geneva Cloud"]
    assert await names(l=["de"], f=["CLOUD"]) == []
    # Pages: keyset cursors, a maximum page size.
    first = await api.ok(DIRECTORY, {"n": 1})
    assert first["directory"]["pageInfo"]["hasNextPage"] is True
    second = await api.ok(DIRECTORY, {"n": 1, "a": first["directory"]["pageInfo"]["endCursor"]})
    assert [e["node"]["name"] for e in second["directory"]["edges"]] == ["Geneva Cloud"]
    assert second["directory"]["pageInfo"]["hasNextPage"] is False
    too_big = await api.gql(DIRECTORY, {"n": 10_000})
    assert too_big.error_codes() == ["PAGE_TOO_LARGE"]
    bad_filter = await api.gql(DIRECTORY, {"l": ["french"]})
    assert bad_filter.error_codes() == ["INVALID_LANGUAGE"]

    # Opting out hides it from everyone but the partner itself.
    await api.ok(UPDATE_LISTING, {"i": {"partnerId": partner_gid, "published": False}}, rep)
    assert await names() == ["Geneva Cloud"]
    entry_id = entry["id"]
    stranger = await token(sessionmaker, "rep@new.example")
    assert (await api.ok(NODE_NAME, {"id": entry_id}, stranger))["node"] is None
    assert (await api.ok(NODE_NAME, {"id": entry_id}, rep))["node"]["name"] == PARTNER

    async with sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject_type == "DirectoryListing")
                .order_by(AuditEvent.id)
            )
        )
    assert actions == [
        "directory_listing.create",
        "directory_listing.create",
        "directory_listing.update",
    ]


async def test_directory_listing_bad_input_and_roles_write_nothing(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    rep = await token(sessionmaker, "rep@partner.example")
    partner_gid = gid("Partner", world.partner_id)
    before = await counts(sessionmaker)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"languages": ["french"]}, "INVALID_LANGUAGE"),
        ({"regions": ["Switzerland"]}, "INVALID_REGION"),
        ({"website": "ftp://alpine.ch"}, "WEBSITE_INVALID"),
        ({"description": "x" * 2001}, "TOO_LONG"),
    ]
    for change, code in cases:
        data = await api.ok(UPDATE_LISTING, {"i": {"partnerId": partner_gid, **change}}, rep)
        assert codes(data, "updateDirectoryListing") == [code], change
    collab = await token(sessionmaker, "collab@partner.example")
    data = await api.ok(
        UPDATE_LISTING, {"i": {"partnerId": partner_gid, "published": True}}, collab
    )
    assert codes(data, "updateDirectoryListing") == ["ROLE_NOT_ALLOWED"]
    stranger = await token(sessionmaker, "rep@new.example")
    data = await api.ok(
        UPDATE_LISTING, {"i": {"partnerId": partner_gid, "published": True}}, stranger
    )
    assert codes(data, "updateDirectoryListing") == ["NOT_FOUND"]
    assert await counts(sessionmaker) == before


# -- collaborators ------------------------------------------------------------------------


async def test_removing_a_collaborators_right_takes_effect_at_once(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    partner_org = world.organizations[PARTNER]
    favre_grant = world.grants[FULL_CLIENT]
    bergbahn_grant = world.grants[LIMITED_CLIENT]
    favre_client = gid("Client", favre_grant)
    favre_product = gid("Product", world.products[FULL_CLIENT][0])
    rep = await token(sessionmaker, "rep@partner.example")
    collab = await token(sessionmaker, "collab@partner.example")
    collab_id = world.users["collab@partner.example"]

    async def collab_clients() -> list[str]:
        data = await api.ok(PARTNER_CLIENTS, token=collab)
        partner = data["viewer"]["memberships"][0]["organization"]["partner"]
        return [e["node"]["name"] for e in partner["clients"]["edges"]]

    async def collab_sees(node_id: str) -> bool:
        return (await api.ok(NODE_NAME, {"id": node_id}, collab))["node"] is not None

    assert await collab_clients() == [FULL_CLIENT]
    assert await collab_sees(favre_client)
    assert await collab_sees(favre_product)

    def set_input(**values: Any) -> dict[str, Any]:
        return {
            "i": {
                "organizationId": gid("Organization", partner_org),
                "userId": gid("User", collab_id),
                **values,
            }
        }

    data = await api.ok(SET_COLLAB, set_input(clientIds=[]), rep)
    assert data["setCollaboratorClients"]["userErrors"] == []
    assert data["setCollaboratorClients"]["rights"] == {
        "userId": gid("User", collab_id),
        "allClients": False,
        "clientIds": [],
    }
    # The very next request: the client and its products are gone.
    assert await collab_clients() == []
    assert not await collab_sees(favre_client)
    assert not await collab_sees(favre_product)
    async with sessionmaker() as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "collaborator.set_clients")
        )
        assert event is not None
        assert event.before == {
            "all_clients": False,
            "client_ids": [world.organizations[FULL_CLIENT]],
            "products": {str(world.organizations[FULL_CLIENT]): "ALL"},
        }
        assert event.after == {"all_clients": False, "client_ids": [], "products": {}}

    # Acting beyond its rights: userErrors, nothing written.
    before = await counts(sessionmaker)
    order = await api.ok(
        f"""mutation($i: PlaceOrderInput!) {{ placeOrder(input: $i) {{ {ERRORS} }} }}""",
        {
            "i": {
                "organizationId": gid("Organization", partner_org),
                "clientId": favre_client,
                "productKind": "web_hosting",
                "quantity": 1,
            }
        },
        collab,
    )
    assert order["placeOrder"]["userErrors"], order
    invite = await api.ok(
        f"""mutation($i: InviteInput!) {{ invite(input: $i) {{ {ERRORS} }} }}""",
        {
            "i": {
                "organizationId": gid("Organization", partner_org),
                "clientEmail": "someone@else.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        collab,
    )
    assert codes(invite, "invite") == ["ROLE_NOT_ALLOWED"]
    self_grant = await api.ok(SET_COLLAB, set_input(allClients=True), collab)
    assert codes(self_grant, "setCollaboratorClients") == ["ROLE_NOT_ALLOWED"]
    assert await counts(sessionmaker) == before

    # Rights given back, for another client, then for all.
    data = await api.ok(SET_COLLAB, set_input(clientIds=[gid("Client", bergbahn_grant)]), rep)
    assert data["setCollaboratorClients"]["rights"]["clientIds"] == [gid("Client", bergbahn_grant)]
    assert await collab_clients() == [LIMITED_CLIENT]
    data = await api.ok(SET_COLLAB, set_input(allClients=True), rep)
    assert sorted(data["setCollaboratorClients"]["rights"]["clientIds"]) == sorted(
        [favre_client, gid("Client", bergbahn_grant)]
    )
    assert sorted(await collab_clients()) == sorted([FULL_CLIENT, LIMITED_CLIENT])


async def test_collaborator_rights_bad_input_writes_nothing(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    partner_org = world.organizations[PARTNER]
    rep = await token(sessionmaker, "rep@partner.example")
    other_org = await organization(sessionmaker, "Other Partner", "rep@otherpartner.example")
    other_partner = await make_partner(sessionmaker, other_org)
    async with sessionmaker() as session, session.begin():
        foreign = Grant(
            partner_id=other_partner,
            client_id=world.organizations[NEW_CLIENT],
            initiated_by=Side.CLIENT,
            status=GrantStatus.ACTIVE,
            requested_level=AccessLevel.LIMITED,
            level=AccessLevel.LIMITED,
            invited_by_user_id=world.users["rep@new.example"],
        )
        session.add(foreign)
        await session.flush()
        foreign_id = foreign.id

    def set_input(user_email: str, **values: Any) -> dict[str, Any]:
        return {
            "i": {
                "organizationId": gid("Organization", partner_org),
                "userId": gid("User", world.users[user_email]),
                **values,
            }
        }

    before = await counts(sessionmaker)
    cases: list[tuple[dict[str, Any], str]] = [
        (
            set_input("collab@partner.example", clientIds=[gid("Client", foreign_id)]),
            "CLIENT_NOT_OF_PARTNER",
        ),
        (
            set_input("collab@partner.example", clientIds=[gid("Client", 999_999)]),
            "CLIENT_NOT_OF_PARTNER",
        ),
        (
            set_input(
                "collab@partner.example",
                allClients=True,
                clientIds=[gid("Client", world.grants[FULL_CLIENT])],
            ),
            "INVALID_INPUT",
        ),
        (
            set_input(
                "collab@partner.example", clientIds=[gid("Product", world.products[FULL_CLIENT][0])]
            ),
            "INVALID_ID",
        ),
        (set_input("admin@partner.example", clientIds=[]), "NOT_A_COLLABORATOR"),
        (set_input("rep@new.example", clientIds=[]), "NOT_FOUND"),
    ]
    for variables, code in cases:
        data = await api.ok(SET_COLLAB, variables, rep)
        assert codes(data, "setCollaboratorClients") == [code], variables
    admin = await token(sessionmaker, "admin@partner.example")
    data = await api.ok(SET_COLLAB, set_input("collab@partner.example", allClients=True), admin)
    assert codes(data, "setCollaboratorClients") == ["ROLE_NOT_ALLOWED"]
    assert await counts(sessionmaker) == before


# -- support ------------------------------------------------------------------------------


async def test_support_codes_and_temporary_support_access(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    org_id = world.organizations[FULL_CLIENT]
    org_gid = gid("Organization", org_id)
    owner = await token(sessionmaker, "rep@full.example")
    codes_query = (
        "query($id: ID!) { node(id: $id) { ... on Organization { supportCode vipCode } } }"
    )
    seen = await api.ok(codes_query, {"id": org_gid}, owner)
    assert seen["node"]["supportCode"]
    assert seen["node"]["vipCode"] is None
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Organization)
            .where(Organization.id == org_id)
            .values(premium_support=True, vip_code="VIP-4242")
        )
    seen = await api.ok(codes_query, {"id": org_gid}, owner)
    assert seen["node"]["vipCode"] == "VIP-4242"

    agent_id = await user(sessionmaker, "agent@provider.example")
    await add_staff(sessionmaker, "agent@provider.example", "tier 2")
    agent = await token(sessionmaker, "agent@provider.example")
    not_staff = await token(sessionmaker, "rep@new.example")
    assert (await api.ok(SUPPORT_VIEW, {"o": org_gid}, agent))["supportView"] is None

    # Too long: refused, nothing written.
    before = await counts(sessionmaker)
    data = await api.ok(
        GRANT_SUPPORT,
        {"i": {"organizationId": org_gid, "durationHours": 73, "reason": "DNS issue"}},
        owner,
    )
    assert data["grantSupportAccess"]["userErrors"] == [
        {
            "field": ["durationHours"],
            "code": "SUPPORT_ACCESS_TOO_LONG",
            "message": "A support access lasts at most 72 hours.",
        }
    ]
    for hours, reason, code in [(0, "x", "INVALID_DURATION"), (2, "  ", "INVALID_INPUT")]:
        data = await api.ok(
            GRANT_SUPPORT,
            {"i": {"organizationId": org_gid, "durationHours": hours, "reason": reason}},
            owner,
        )
        assert codes(data, "grantSupportAccess") == [code]
    admin_id = await member(sessionmaker, org_id, "admin@full.example", Role.ADMINISTRATOR)
    assert admin_id
    admin = await token(sessionmaker, "admin@full.example")
    data = await api.ok(
        GRANT_SUPPORT,
        {"i": {"organizationId": org_gid, "durationHours": 2, "reason": "x"}},
        admin,
    )
    assert codes(data, "grantSupportAccess") == ["ROLE_NOT_ALLOWED"]
    assert await counts(sessionmaker) == before

    data = await api.ok(
        GRANT_SUPPORT,
        {"i": {"organizationId": org_gid, "durationHours": 2, "reason": "Mail bounces"}},
        owner,
    )
    access = data["grantSupportAccess"]["supportAccess"]
    assert access["status"] == "ACTIVE"

    # The agent reads the organization and its products; others read nothing.
    view = (await api.ok(SUPPORT_VIEW, {"o": org_gid}, agent))["supportView"]
    assert view["name"] == FULL_CLIENT
    assert view["accessReason"] == "Mail bounces"
    assert len(view["products"]["edges"]) == 3
    assert (await api.ok(SUPPORT_VIEW, {"o": org_gid}, not_staff))["supportView"] is None
    other_org = gid("Organization", world.organizations[NEW_CLIENT])
    assert (await api.ok(SUPPORT_VIEW, {"o": other_org}, agent))["supportView"] is None
    # Read-only: the agent is no member, every mutation refuses it.
    before = await counts(sessionmaker)
    data = await api.ok(
        GRANT_SUPPORT,
        {"i": {"organizationId": org_gid, "durationHours": 72, "reason": "extend"}},
        agent,
    )
    assert codes(data, "grantSupportAccess") == ["NOT_FOUND"]
    data = await api.ok(REVOKE_SUPPORT, {"i": {"supportAccessId": access["id"]}}, agent)
    assert codes(data, "revokeSupportAccess") == ["NOT_FOUND"]
    assert (await api.ok(NODE_NAME, {"id": org_gid}, agent))["node"] is None
    assert await counts(sessionmaker) == before

    # Administrators list the accesses; the access ends by itself at expiry.
    listed = await api.ok(
        """query($o: ID!) { supportAccesses(organizationId: $o) {
            edges { node { id status reason } } } }""",
        {"o": org_gid},
        admin,
    )
    assert [e["node"]["status"] for e in listed["supportAccesses"]["edges"]] == ["ACTIVE"]
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(SupportAccess).values(
                created_at=utcnow() - timedelta(hours=3), expires_at=utcnow() - timedelta(seconds=1)
            )
        )
    assert (await api.ok(SUPPORT_VIEW, {"o": org_gid}, agent))["supportView"] is None
    assert (await api.ok(NODE_NAME, {"id": access["id"]}, owner))["node"]["status"] == "EXPIRED"
    data = await api.ok(REVOKE_SUPPORT, {"i": {"supportAccessId": access["id"]}}, owner)
    assert codes(data, "revokeSupportAccess") == ["SUPPORT_ACCESS_ENDED"]

    # A new access, revoked early.
    data = await api.ok(
        GRANT_SUPPORT,
        {"i": {"organizationId": org_gid, "durationHours": 72, "reason": "Migration"}},
        owner,
    )
    second = data["grantSupportAccess"]["supportAccess"]
    assert (await api.ok(SUPPORT_VIEW, {"o": org_gid}, agent))["supportView"] is not None
    data = await api.ok(REVOKE_SUPPORT, {"i": {"supportAccessId": second["id"]}}, owner)
    assert data["revokeSupportAccess"]["supportAccess"]["status"] == "REVOKED"
    assert (await api.ok(SUPPORT_VIEW, {"o": org_gid}, agent))["supportView"] is None
    async with sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject_type == "SupportAccess")
                .order_by(AuditEvent.id)
            )
        )
    # Each read the agent made under an access is an event too (SPEC "The audit trail").
    assert actions == [
        "support_access.grant",
        "support_access.staff_read",
        "support_access.grant",
        "support_access.staff_read",
        "support_access.revoke",
    ]
    assert agent_id


# -- Swiss Backup -------------------------------------------------------------------------


async def test_backup_customers_never_move(api: Api, world: Any, sessionmaker: Maker) -> None:
    client_org = world.organizations[FULL_CLIENT]
    async with sessionmaker() as session, session.begin():
        first = BackupAccount(organization_id=client_org, partner_id=world.partner_id, name="A")
        second = BackupAccount(organization_id=client_org, name="B")
        session.add_all([first, second])
        await session.flush()
        customer = BackupCustomer(account_id=first.id, name="Favre Lausanne")
        session.add(customer)
        await session.flush()
        ids = (first.id, second.id, customer.id)
    owner = await token(sessionmaker, "rep@full.example")
    before = await counts(sessionmaker)
    data = await api.ok(
        f"""mutation($i: MoveBackupCustomerInput!) {{ moveBackupCustomer(input: $i) {{
            customer {{ id }} {ERRORS} }} }}""",
        {
            "i": {
                "customerId": gid("BackupCustomer", ids[2]),
                "targetAccountId": gid("BackupAccount", ids[1]),
            }
        },
        owner,
    )
    assert data["moveBackupCustomer"]["customer"] is None
    [error] = data["moveBackupCustomer"]["userErrors"]
    assert error["code"] == "BACKUP_MOVE_NOT_SUPPORTED"
    assert "cannot be moved between two Swiss Backup accounts" in error["message"]
    assert await counts(sessionmaker) == before
    async with sessionmaker() as session:
        row = await session.get(BackupCustomer, ids[2])
        assert row is not None
        assert row.account_id == ids[0]

    listing = """query($o: ID!) { backupAccounts(organizationId: $o) {
        edges { node { name customers { edges { node { name } } } } } } }"""
    seen = await api.ok(listing, {"o": gid("Organization", client_org)}, owner)
    assert [
        (e["node"]["name"], [c["node"]["name"] for c in e["node"]["customers"]["edges"]])
        for e in seen["backupAccounts"]["edges"]
    ] == [("A", ["Favre Lausanne"]), ("B", [])]
    # The managing partner's representative sees the account it manages.
    rep = await token(sessionmaker, "rep@partner.example")
    seen = await api.ok(listing, {"o": gid("Organization", world.organizations[PARTNER])}, rep)
    assert [e["node"]["name"] for e in seen["backupAccounts"]["edges"]] == ["A"]
    stranger = await token(sessionmaker, "rep@new.example")
    seen = await api.ok(listing, {"o": gid("Organization", client_org)}, stranger)
    assert seen["backupAccounts"]["edges"] == []


# -- EXTERNAL members absorbed by a partnership -------------------------------------------


async def test_external_members_are_absorbed_when_a_partnership_starts(
    world: Any, sessionmaker: Maker
) -> None:
    partner_org = world.organizations[PARTNER]
    client_org = world.organizations[NEW_CLIENT]
    collab_membership = await member(
        sessionmaker, partner_org, "helper@partner.example", Role.COLLABORATOR
    )
    ext_collab = await member(sessionmaker, client_org, "helper@partner.example", Role.EXTERNAL)
    ext_admin = await member(sessionmaker, client_org, "admin@partner.example", Role.EXTERNAL)
    # An EXTERNAL member who is not a partner user stays.
    outsider = await member(sessionmaker, client_org, "consultant@else.example", Role.EXTERNAL)

    async with sessionmaker() as session, session.begin():
        absorbed = await absorb_external_memberships(
            session, partner_org, client_org, actor_user_id=world.users["rep@new.example"]
        )
    assert sorted(absorbed) == sorted(
        [world.users["admin@partner.example"], await user(sessionmaker, "helper@partner.example")]
    )
    async with sessionmaker() as session:
        assert await session.get(Membership, ext_collab) is None
        assert await session.get(Membership, ext_admin) is None
        assert await session.get(Membership, outsider) is not None
        # The restricted collaborator keeps acting for this client, now through the grant.
        assert await session.get(CollaboratorClient, (collab_membership, client_org)) is not None
        events = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "membership.absorbed_by_partnership")
            )
        )
        assert {e.subject_id for e in events} == {ext_collab, ext_admin}
        assert all(e.before == {"user_id": e.after["user_id"], "role": "EXTERNAL"} for e in events)  # type: ignore[index]
    # Running it again does nothing.
    async with sessionmaker() as session, session.begin():
        assert await absorb_external_memberships(session, partner_org, client_org) == []


# -- emails and the worker actor ----------------------------------------------------------

#: The program's email templates and their context keys (workers.email.TEMPLATE_KEYS).
PROGRAM_TEMPLATE_KEYS = {
    "partner_application_accepted": frozenset(
        {"organization_name", "registration_number", "website"}
    ),
    "partner_application_refused": frozenset({"organization_name", "reasons"}),
    "partner_review_below_minimum": frozenset(
        {"organization_name", "year", "managed_volume", "minimum_volume"}
    ),
}


async def test_program_emails_render_and_the_review_actor_runs(
    api: Api, world: Any, sessionmaker: Maker, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers import email as email_module
    from workers import runtime
    from workers.program import yearly_partner_review

    for name, keys in PROGRAM_TEMPLATE_KEYS.items():
        monkeypatch.setitem(email_module.TEMPLATE_KEYS, name, keys)
    accepted = await organization(sessionmaker, "Mail Test AG", "rep@mailtest.example")
    refused = await organization(sessionmaker, "Mail Refused AG", "rep@mailrefused.example")
    await api.ok(
        APPLY, {"i": application_input(accepted)}, await token(sessionmaker, "rep@mailtest.example")
    )
    await api.ok(
        APPLY,
        {"i": application_input(refused, acceptedResellerConditions=False)},
        await token(sessionmaker, "rep@mailrefused.example"),
    )
    runtime.configure(settings)
    try:
        await yearly_partner_review(2030)
        await runtime.dispose_worker_engine()
    finally:
        runtime.configure(None)
    async with sessionmaker() as session:
        flagged = set(
            await session.scalars(
                select(PartnerReview.partner_id).where(
                    PartnerReview.year == 2030,
                    PartnerReview.flagged_below_minimum_at.is_not(None),
                )
            )
        )
        assert world.partner_id in flagged
        messages = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.actor_name == "send_email")
                .order_by(OutboxMessage.id)
            )
        )
    rendered = {}
    for message in messages:
        mail = email_module.render_email(
            message.payload["template"],
            message.payload["context"],
            to=message.payload["to"],
            outbox_id=message.id,
            settings=settings,
        )
        # Every email renders; the demo partner's is the review email checked below.
        if message.payload["to"] != "rep@mailtest.example" or (
            message.payload["template"] != "partner_review_below_minimum"
        ):
            rendered[message.payload["template"]] = mail
    assert set(rendered) == set(PROGRAM_TEMPLATE_KEYS)
    assert "CHE-116.281.710" in rendered["partner_application_accepted"].get_body().as_string()
    refused_body = rendered["partner_application_refused"].get_body(("plain",))
    assert refused_body is not None
    assert "reseller conditions must be accepted" in refused_body.get_content()
    review = rendered["partner_review_below_minimum"]
    assert review["Subject"] == "Partner Program 2030: managed volume below the minimum"
    review_body = review.get_body(("plain",))
    assert review_body is not None
    assert "CHF 555.12" in review_body.get_content()
    assert "CHF 2000.00" in review_body.get_content()


async def test_accepting_a_partnership_absorbs_external_memberships(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    partner_org = world.organizations[PARTNER]
    client_org = world.organizations[NEW_CLIENT]
    external = await member(sessionmaker, client_org, "collab@partner.example", Role.EXTERNAL)
    rep = await token(sessionmaker, "rep@partner.example")
    invited = await api.ok(
        f"""mutation($i: InviteInput!) {{ invite(input: $i) {{ grant {{ id }} {ERRORS} }} }}""",
        {
            "i": {
                "organizationId": gid("Organization", partner_org),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        rep,
    )
    assert invited["invite"]["userErrors"] == []
    client = await token(sessionmaker, "rep@new.example")
    accepted = await api.ok(
        f"""mutation($i: AcceptInput!) {{ accept(input: $i) {{ grant {{ status }} {ERRORS} }} }}""",
        {"i": {"grantId": invited["invite"]["grant"]["id"]}},
        client,
    )
    assert accepted["accept"]["grant"]["status"] == "ACTIVE"
    async with sessionmaker() as session:
        assert await session.get(Membership, external) is None
        collab_membership = await session.scalar(
            select(Membership.id).where(
                Membership.organization_id == partner_org,
                Membership.user_id == world.users["collab@partner.example"],
            )
        )
        assert collab_membership is not None
        assert await session.get(CollaboratorClient, (collab_membership, client_org)) is not None
    # The collaborator now acts for the client through the grant, not as a member of it.
    collab = await token(sessionmaker, "collab@partner.example")
    data = await api.ok(PARTNER_CLIENTS, token=collab)
    names = [
        e["node"]["name"]
        for e in data["viewer"]["memberships"][0]["organization"]["partner"]["clients"]["edges"]
    ]
    assert sorted(names) == sorted([FULL_CLIENT, NEW_CLIENT])
    assert [m["organization"]["name"] for m in data["viewer"]["memberships"]] == [PARTNER]
