"""The audit trail over HTTP: an organization's events and a grant's, newest first and
filtered; who reads them; amounts; staff reads; the CSV export; and every mutation of the
people area writing exactly one event with its before and after."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from db.models import AuditEvent, Membership, StaffMember, User, utcnow
from domain.enums import Role
from resolvers.demo import FULL_CLIENT, PARTNER
from tests.api.people_support import SIGN_UP, VERIFY_EMAIL, emailed_token, sign_up_input
from tests.api.spine_support import Maker, add_member, audit_events, last_ids, session_tokens
from tests.conftest import Api, gid, login

TRAIL = """query($o: ID!, $f: AuditEventFilter, $first: Int, $after: String) {
  node(id: $o) { ... on Organization { auditExportUrl
    auditEvents(filter: $f, first: $first, after: $after) {
      edges { cursor node { kind actor { kind name } subjectType subjectId before after } }
      pageInfo { hasNextPage endCursor } } } } }"""
GRANT_TRAIL = """query($g: ID!) { node(id: $g) { ... on Grant {
  auditEvents { edges { node { kind after } } } } } }"""
INVITE = """mutation($i: InviteMemberInput!) { inviteMember(input: $i) {
  invitation { id } userErrors { code } } }"""
CHANGE_ROLE = """mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) {
  member { id } userErrors { code } } }"""


def kinds(data: dict[str, Any]) -> list[str]:
    return [e["node"]["kind"] for e in data["node"]["auditEvents"]["edges"]]


async def membership_gid(sessionmaker: Maker, organization_id: int, email: str) -> str:
    async with sessionmaker() as session:
        pk = await session.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization_id, User.email == email)
        )
    return gid("Member", int(pk or 0))


async def test_organization_trail_newest_first_filtered_and_guarded(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    org_pk = world.organizations[PARTNER]
    org = gid("Organization", org_pk)
    emails = ["rep@partner.example", "admin@partner.example", "collab@partner.example"]
    tokens = await session_tokens(sessionmaker, [*emails, "rep@full.example"])
    rep, admin = tokens["rep@partner.example"], tokens["admin@partner.example"]
    started = utcnow()
    await api.ok(
        INVITE, {"i": {"organizationId": org, "email": "a@x.example", "role": "EXTERNAL"}}, rep
    )
    await api.ok(
        INVITE,
        {"i": {"organizationId": org, "email": "b@x.example", "role": "COLLABORATOR"}},
        admin,
    )
    collab_member = await membership_gid(sessionmaker, org_pk, "collab@partner.example")
    await api.ok(CHANGE_ROLE, {"i": {"memberId": collab_member, "role": "EXTERNAL"}}, rep)

    newest = await api.ok(TRAIL, {"o": org, "f": {"since": started.isoformat()}}, rep)
    assert kinds(newest) == ["member.change_role", "member.invite", "member.invite"]
    change = newest["node"]["auditEvents"]["edges"][0]["node"]
    assert change["actor"] == {"kind": "USER", "name": "Anna Keller"}
    assert change["subjectId"] == collab_member
    assert (change["before"]["role"], change["after"]["role"]) == ("COLLABORATOR", "EXTERNAL")
    assert newest["node"]["auditExportUrl"].endswith(f"/exports/organizations/{org}/audit.csv")
    # Filters: kind, actor, period; pages follow newest first.
    by_kind = await api.ok(TRAIL, {"o": org, "f": {"kinds": ["member.invite"]}}, admin)
    assert kinds(by_kind) == ["member.invite", "member.invite"]
    by_actor = await api.ok(
        TRAIL,
        {"o": org, "f": {"actorId": gid("User", world.users["admin@partner.example"])}},
        rep,
    )
    assert kinds(by_actor) == ["member.invite"]
    future = await api.ok(
        TRAIL, {"o": org, "f": {"since": (utcnow() + timedelta(hours=1)).isoformat()}}, rep
    )
    assert kinds(future) == []
    first = await api.ok(TRAIL, {"o": org, "first": 1}, rep)
    assert kinds(first) == ["member.change_role"]
    cursor = first["node"]["auditEvents"]["pageInfo"]["endCursor"]
    second = await api.ok(TRAIL, {"o": org, "first": 1, "after": cursor}, rep)
    assert kinds(second) == ["member.invite"]
    bad_period = await api.gql(
        TRAIL,
        {"o": org, "f": {"since": utcnow().isoformat(), "until": started.isoformat()}},
        rep,
    )
    assert bad_period.error_codes() == ["INVALID_PERIOD"]

    # A collaborator may not read it; another organization sees nothing (as missing).
    await add_member(sessionmaker, org_pk, "c9@partner.example", Role.COLLABORATOR)
    collab = (await session_tokens(sessionmaker, ["c9@partner.example"]))["c9@partner.example"]
    denied = await api.gql(TRAIL, {"o": org}, collab)
    assert denied.data["node"]["auditEvents"] is None
    assert denied.error_codes() == ["FORBIDDEN", "FORBIDDEN"]
    assert (await api.ok(TRAIL, {"o": org}, tokens["rep@full.example"]))["node"] is None


async def test_grant_trail_both_sides_and_amounts(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example", "rep@full.example"])
    partner_org = world.organizations[PARTNER]
    grant_pk = world.grants[FULL_CLIENT]
    async with sessionmaker() as session, session.begin():
        session.add(
            AuditEvent(
                action="grant.test_amount",
                subject_type="Grant",
                subject_id=grant_pk,
                actor_user_id=None,
                organization_id=partner_org,
                after={"payer_organization_id": partner_org, "total_amount": "99.90"},
            )
        )
    grant = gid("Grant", grant_pk)
    seen_by_partner = await api.ok(GRANT_TRAIL, {"g": grant}, tokens["rep@partner.example"])
    seen_by_client = await api.ok(GRANT_TRAIL, {"g": grant}, tokens["rep@full.example"])
    (partner_event,) = [
        e["node"]
        for e in seen_by_partner["node"]["auditEvents"]["edges"]
        if e["node"]["kind"] == "grant.test_amount"
    ]
    (client_event,) = [
        e["node"]
        for e in seen_by_client["node"]["auditEvents"]["edges"]
        if e["node"]["kind"] == "grant.test_amount"
    ]
    assert partner_event["after"]["total_amount"] == "99.90"
    assert client_event["after"]["total_amount"] is None
    # The client's organization trail has its grant's events too, amounts hidden alike.
    client_trail = await api.ok(
        TRAIL,
        {"o": gid("Organization", world.organizations[FULL_CLIENT])},
        tokens["rep@full.example"],
    )
    (event,) = [
        e["node"]
        for e in client_trail["node"]["auditEvents"]["edges"]
        if e["node"]["kind"] == "grant.test_amount"
    ]
    assert event["after"] == {"payer_organization_id": partner_org, "total_amount": None}


async def test_staff_reads_are_recorded_and_visible(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    org_pk = world.organizations[FULL_CLIENT]
    org = gid("Organization", org_pk)
    await add_member(
        sessionmaker, world.organizations[PARTNER], "agent@provider.example", Role.EXTERNAL
    )
    async with sessionmaker() as session, session.begin():
        agent_id = await session.scalar(
            select(User.id).where(User.email == "agent@provider.example")
        )
        session.add(StaffMember(user_id=agent_id, note="tier 2"))
    tokens = await session_tokens(sessionmaker, ["rep@full.example", "agent@provider.example"])
    granted = await api.ok(
        """mutation($i: GrantSupportAccessInput!) { grantSupportAccess(input: $i) {
          supportAccess { id } userErrors { code } } }""",
        {"i": {"organizationId": org, "durationHours": 2, "reason": "Mail bounces"}},
        tokens["rep@full.example"],
    )
    assert granted["grantSupportAccess"]["userErrors"] == []
    view = await api.ok(
        "query($o: ID!) { supportView(organizationId: $o) { name } }",
        {"o": org},
        tokens["agent@provider.example"],
    )
    assert view["supportView"]["name"] == FULL_CLIENT
    trail = await api.ok(TRAIL, {"o": org, "first": 2}, tokens["rep@full.example"])
    assert kinds(trail) == ["support_access.staff_read", "support_access.grant"]
    assert trail["node"]["auditEvents"]["edges"][0]["node"]["actor"]["kind"] == "USER"


async def test_audit_csv_export(api: Api, sessionmaker: Maker, world: Any) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example", "rep@full.example"])
    org = gid("Organization", world.organizations[PARTNER])
    await api.ok(
        INVITE,
        {"i": {"organizationId": org, "email": "=cmd@x.example", "role": "EXTERNAL"}},
        tokens["rep@partner.example"],
    )
    path = f"/exports/organizations/{org}/audit.csv"
    response = await api.client.get(
        path, headers={"authorization": f"Bearer {tokens['rep@partner.example']}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["id", "occurred_at", "kind"]
    assert rows[1][2] == "member.invite"
    ids = [int(r[0]) for r in rows[1:]]
    assert ids == sorted(ids, reverse=True)
    assert "'" in rows[1][9] or rows[1][9].startswith("{")  # JSON, never a formula
    other = await api.client.get(
        path, headers={"authorization": f"Bearer {tokens['rep@full.example']}"}
    )
    assert other.status_code == 404
    assert (await api.client.get(path)).status_code == 401


async def test_every_people_mutation_writes_one_event(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    """Each mutation of the issue, once, in a flow; exactly one event each, the right kind,
    with its before and after."""
    org_pk = world.organizations[PARTNER]
    org = gid("Organization", org_pk)
    rep = await login(api, "rep@partner.example")
    steps: list[tuple[str, str, dict[str, Any], str | None]] = []

    async def step(
        kind: str, document: str, variables: dict[str, Any] | None, token: str | None = None
    ) -> Any:
        before_id, _ = await last_ids(sessionmaker)
        data = await api.ok(document, variables, token)
        payload = next(iter(data.values()))
        assert payload.get("userErrors", []) == [], (kind, payload)
        events = await audit_events(sessionmaker, before_id)
        assert [e.action for e in events] == [kind], (kind, [e.action for e in events])
        assert events[0].after is not None or events[0].before is not None, kind
        steps.append((kind, document, variables or {}, token))
        return payload

    await step("user.sign_up", SIGN_UP, {"i": sign_up_input("one@event.example")})
    link = await emailed_token(sessionmaker, "one@event.example", "verify_email")
    await step("user.sign_up_taken_email", SIGN_UP, {"i": sign_up_input("rep@partner.example")})
    await step(
        "user.verification_resent",
        "mutation($i: EmailInput!) { resendVerification(input: $i) { email userErrors { code } } }",
        {"i": {"email": "one@event.example"}},
    )
    link = await emailed_token(sessionmaker, "one@event.example", "verify_email")
    verified = await step("user.verify_email", VERIFY_EMAIL, {"i": {"token": link}})
    me = verified["token"]
    await step(
        "user.password_reset_requested",
        """mutation($i: EmailInput!) { requestPasswordReset(input: $i) {
          email userErrors { code } } }""",
        {"i": {"email": "one@event.example"}},
    )
    reset = await emailed_token(sessionmaker, "one@event.example", "password_reset")
    done = await step(
        "user.password_reset",
        """mutation($i: ResetPasswordInput!) { resetPassword(input: $i) {
          token userErrors { code } } }""",
        {"i": {"token": reset, "newPassword": "second password!"}},
    )
    me = done["token"]
    await step(
        "user.change_password",
        """mutation($i: ChangePasswordInput!) { changePassword(input: $i) {
          user { email } userErrors { code } } }""",
        {"i": {"currentPassword": "second password!", "newPassword": "third password!!"}},
        me,
    )
    await step(
        "user.email_change_requested",
        """mutation($i: ChangeEmailInput!) { changeEmail(input: $i) {
          email userErrors { code } } }""",
        {"i": {"newEmail": "two@event.example", "password": "third password!!"}},
        me,
    )
    change = await emailed_token(sessionmaker, "two@event.example", "email_change_verify")
    await step("user.change_email", VERIFY_EMAIL, {"i": {"token": change}})
    await login(api, "two@event.example", "third password!!")
    sessions = await api.ok("query { viewer { sessions { id current } } }", token=me)
    other_id = next(s["id"] for s in sessions["viewer"]["sessions"] if not s["current"])
    await step(
        "session.end",
        """mutation($i: EndSessionInput!) { endSession(input: $i) {
          session { id } userErrors { code } } }""",
        {"i": {"id": other_id}},
        me,
    )
    fresh = await login(api, "two@event.example", "third password!!")
    await step("session.logout", "mutation { logout { ok userErrors { code } } }", None, fresh)
    await step(
        "session.logout_everywhere",
        "mutation($i: LogoutInput) { logout(input: $i) { ok userErrors { code } } }",
        {"i": {"everywhere": True}},
        me,
    )
    invited = await step(
        "member.invite",
        INVITE,
        {"i": {"organizationId": org, "email": "three@event.example", "role": "COLLABORATOR"}},
        rep,
    )
    invitation = invited["invitation"]["id"]
    await step(
        "member.invitation_resend",
        """mutation($i: MemberInvitationInput!) { resendMemberInvitation(input: $i) {
          invitation { id } userErrors { code } } }""",
        {"i": {"id": invitation}},
        rep,
    )
    accept_link = await emailed_token(sessionmaker, "three@event.example", "member_invitation")
    joined = await step(
        "member.join",
        """mutation($i: AcceptMemberInvitationInput!) { acceptMemberInvitation(input: $i) {
          token member { id } userErrors { code } } }""",
        {"i": {"token": accept_link, "fullName": "Three", "password": "a long password"}},
    )
    member, three = joined["member"]["id"], joined["token"]
    await step(
        "collaborator.set_rights",
        """mutation($i: SetCollaboratorRightsInput!) { setCollaboratorRights(input: $i) {
          rights { allClients } userErrors { code } } }""",
        {
            "i": {
                "memberId": member,
                "clients": [{"clientId": gid("Client", world.grants[FULL_CLIENT])}],
            }
        },
        rep,
    )
    cancelled = await step(
        "member.invite",
        INVITE,
        {"i": {"organizationId": org, "email": "four@event.example", "role": "EXTERNAL"}},
        rep,
    )
    await step(
        "member.invitation_cancel",
        """mutation($i: MemberInvitationInput!) { cancelMemberInvitation(input: $i) {
          invitation { id } userErrors { code } } }""",
        {"i": {"id": cancelled["invitation"]["id"]}},
        rep,
    )
    await step(
        "member.change_role", CHANGE_ROLE, {"i": {"memberId": member, "role": "EXTERNAL"}}, rep
    )
    await step(
        "member.leave",
        """mutation($i: LeaveOrganizationInput!) { leaveOrganization(input: $i) {
          memberId userErrors { code } } }""",
        {"i": {"organizationId": org}},
        three,
    )
    admin_member = await membership_gid(sessionmaker, org_pk, "admin@partner.example")
    await step(
        "member.remove",
        """mutation($i: RemoveMemberInput!) { removeMember(input: $i) {
          memberId userErrors { code } } }""",
        {"i": {"memberId": admin_member}},
        rep,
    )
    # Every mutation of the people area was exercised above.
    names = {mutation_name(doc) for _, doc, _, _ in steps}
    assert names == PEOPLE_MUTATIONS


def mutation_name(document: str) -> str:
    found = re.match(r"mutation[^{]*\{\s*(\w+)", document)
    assert found, document
    return found.group(1)


PEOPLE_MUTATIONS = {
    "signUp",
    "verifyEmail",
    "resendVerification",
    "requestPasswordReset",
    "resetPassword",
    "changePassword",
    "changeEmail",
    "endSession",
    "logout",
    "inviteMember",
    "acceptMemberInvitation",
    "resendMemberInvitation",
    "cancelMemberInvitation",
    "changeMemberRole",
    "removeMember",
    "leaveOrganization",
    "setCollaboratorRights",
}
