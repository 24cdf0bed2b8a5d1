"""Members over HTTP: invitations (accept once, 7 days, resend, cancel), roles, removal,
leaving, the last legal representative, and a table of who may do what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from db.models import AuthSession, Membership
from domain.enums import Role
from resolvers.demo import FULL_CLIENT, PARTNER
from tests.api.people_support import ClockedApi, clocked, emailed_token, emails_to
from tests.api.spine_support import (
    Maker,
    add_member,
    audit_events,
    last_ids,
    row_counts,
    session_tokens,
)
from tests.conftest import Api, gid, login

__all__ = ["clocked"]

INVITE = """mutation($i: InviteMemberInput!) { inviteMember(input: $i) {
  invitation { id email role status expiresAt } userErrors { field message code } } }"""
ACCEPT = """mutation($i: AcceptMemberInvitationInput!) { acceptMemberInvitation(input: $i) {
  token user { email } member { id role email } userErrors { field message code } } }"""
RESEND = """mutation($i: MemberInvitationInput!) { resendMemberInvitation(input: $i) {
  invitation { id status } userErrors { field code } } }"""
CANCEL = """mutation($i: MemberInvitationInput!) { cancelMemberInvitation(input: $i) {
  invitation { id status } userErrors { field code } } }"""
CHANGE_ROLE = """mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) {
  member { id role } userErrors { field code } } }"""
REMOVE = """mutation($i: RemoveMemberInput!) { removeMember(input: $i) {
  memberId userErrors { field code } } }"""
LEAVE = """mutation($i: LeaveOrganizationInput!) { leaveOrganization(input: $i) {
  memberId userErrors { field code } } }"""
MEMBERS = """query($o: ID!) { node(id: $o) { ... on Organization {
  members { edges { node { id role email fullName since lastActivityAt } } }
  memberInvitations { edges { node { id email role status } } } } } }"""
MY_ORGS = "query { viewer { memberships { role organization { name } } } }"
CLIENTS = """query($p: ID!) { node(id: $p) { ... on Partner { clients { edges { node {
  name } } } } } }"""


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def members_of(api: Api, org: str, token: str) -> dict[str, str]:
    data = await api.ok(MEMBERS, {"o": org}, token=token)
    return {e["node"]["email"]: e["node"]["role"] for e in data["node"]["members"]["edges"]}


async def member_id(sessionmaker: Maker, organization_id: int, user_id: int) -> str:
    async with sessionmaker() as session:
        pk = await session.scalar(
            select(Membership.id).where(
                Membership.organization_id == organization_id, Membership.user_id == user_id
            )
        )
    assert pk is not None
    return gid("Member", pk)


async def test_invite_accept_with_a_new_account(api: Api, sessionmaker: Maker, world: Any) -> None:
    rep = await login(api, "rep@partner.example")
    org = gid("Organization", world.organizations[PARTNER])
    audit_before, _ = await last_ids(sessionmaker)
    invited = await api.ok(
        INVITE,
        {"i": {"organizationId": org, "email": "New@Hire.example", "role": "ADMINISTRATOR"}},
        token=rep,
    )
    invitation = invited["inviteMember"]["invitation"]
    assert invited["inviteMember"]["userErrors"] == []
    assert (invitation["email"], invitation["role"], invitation["status"]) == (
        "new@hire.example",
        "ADMINISTRATOR",
        "PENDING",
    )
    token = await emailed_token(sessionmaker, "new@hire.example", "member_invitation")
    assert token.startswith("pgm_")
    listed = await api.ok(MEMBERS, {"o": org}, token=rep)
    assert [e["node"]["email"] for e in listed["node"]["memberInvitations"]["edges"]] == [
        "new@hire.example"
    ]
    # No account yet: a name and a password are needed, and nothing is written without them.
    missing = await api.ok(ACCEPT, {"i": {"token": token}})
    assert codes(missing["acceptMemberInvitation"]) == ["INVALID_INPUT"]
    joined = await api.ok(
        ACCEPT,
        {"i": {"token": token, "fullName": "Nina Hire", "password": "a long password"}},
    )
    payload = joined["acceptMemberInvitation"]
    assert payload["userErrors"] == []
    assert payload["member"]["role"] == "ADMINISTRATOR"
    me = await api.ok(MY_ORGS, token=payload["token"])
    assert me["viewer"]["memberships"] == [
        {"role": "ADMINISTRATOR", "organization": {"name": PARTNER}}
    ]
    # The link works once; the password logs in (the link verified the address).
    again = await api.ok(
        ACCEPT, {"i": {"token": token, "fullName": "X", "password": "a long password"}}
    )
    assert codes(again["acceptMemberInvitation"]) == ["INVALID_TOKEN"]
    assert await login(api, "new@hire.example", "a long password")
    members = await members_of(api, org, rep)
    assert members["new@hire.example"] == "ADMINISTRATOR"
    statuses = await api.ok(MEMBERS, {"o": org}, token=rep)
    assert [e["node"]["status"] for e in statuses["node"]["memberInvitations"]["edges"]] == [
        "ACCEPTED"
    ]
    events = await audit_events(sessionmaker, audit_before)
    assert [e.action for e in events] == ["member.invite", "member.join", "session.login"]
    assert events[1].before is None
    assert events[1].after["role"] == "ADMINISTRATOR"
    assert events[1].organization_id == world.organizations[PARTNER]


async def test_an_existing_account_joins_with_the_link_alone(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    rep = await login(api, "rep@partner.example")
    org = gid("Organization", world.organizations[PARTNER])
    await api.ok(
        INVITE,
        {"i": {"organizationId": org, "email": "rep@new.example", "role": "EXTERNAL"}},
        token=rep,
    )
    token = await emailed_token(sessionmaker, "rep@new.example", "member_invitation")
    joined = await api.ok(ACCEPT, {"i": {"token": token}})
    assert joined["acceptMemberInvitation"]["userErrors"] == []
    me = await api.ok(MY_ORGS, token=joined["acceptMemberInvitation"]["token"])
    assert sorted((m["organization"]["name"], m["role"]) for m in me["viewer"]["memberships"]) == [
        ("Alpine Web Partners", "EXTERNAL"),
        ("Lac Leman Yachts", "LEGAL_REPRESENTATIVE"),
    ]


async def test_invitation_rules_resend_cancel_and_expiry(
    clocked: ClockedApi, sessionmaker: Maker, world: Any
) -> None:
    api, clock = clocked.api, clocked.clock
    tokens = await session_tokens(
        sessionmaker, ["rep@partner.example", "admin@partner.example", "rep@full.example"]
    )
    rep, admin = tokens["rep@partner.example"], tokens["admin@partner.example"]
    org = gid("Organization", world.organizations[PARTNER])

    def invite(email: str, role: str) -> dict[str, Any]:
        return {"i": {"organizationId": org, "email": email, "role": role}}

    refused = await api.ok(INVITE, invite("boss@x.example", "ADMINISTRATOR"), token=admin)
    assert codes(refused["inviteMember"]) == ["ROLE_NOT_ALLOWED"]
    outsider = await api.ok(
        INVITE, invite("boss@x.example", "COLLABORATOR"), token=tokens["rep@full.example"]
    )
    assert [(e["field"], e["code"]) for e in outsider["inviteMember"]["userErrors"]] == [
        (["organizationId"], "NOT_FOUND")
    ]
    member = await api.ok(INVITE, invite("Collab@Partner.example", "COLLABORATOR"), token=rep)
    assert codes(member["inviteMember"]) == ["ALREADY_MEMBER"]
    first = await api.ok(INVITE, invite("helper@x.example", "COLLABORATOR"), token=admin)
    invitation_id = first["inviteMember"]["invitation"]["id"]
    twice = await api.ok(INVITE, invite("helper@x.example", "EXTERNAL"), token=rep)
    assert codes(twice["inviteMember"]) == ["ALREADY_INVITED"]
    long_email = await api.ok(INVITE, invite("a" * 300 + "@x.example", "EXTERNAL"), token=rep)
    assert codes(long_email["inviteMember"]) == ["INVALID_EMAIL"]

    old_link = await emailed_token(sessionmaker, "helper@x.example", "member_invitation")
    resent = await api.ok(RESEND, {"i": {"id": invitation_id}}, token=admin)
    assert resent["resendMemberInvitation"]["userErrors"] == []
    new_link = await emailed_token(sessionmaker, "helper@x.example", "member_invitation")
    assert new_link != old_link
    stale = await api.ok(ACCEPT, {"i": {"token": old_link}})
    assert codes(stale["acceptMemberInvitation"]) == ["INVALID_TOKEN"]

    # Seven days, then the link no longer works; a resend revives it.
    clock.advance(timedelta(days=7, seconds=1))
    async with sessionmaker() as session, session.begin():  # the logins outlive the jump
        await session.execute(update(AuthSession).values(expires_at=clock.now + timedelta(days=1)))
    expired = await api.ok(
        ACCEPT, {"i": {"token": new_link, "fullName": "H", "password": "a long password"}}
    )
    assert codes(expired["acceptMemberInvitation"]) == ["INVALID_TOKEN"]
    await api.ok(RESEND, {"i": {"id": invitation_id}}, token=rep)
    revived = await emailed_token(sessionmaker, "helper@x.example", "member_invitation")

    cancelled = await api.ok(CANCEL, {"i": {"id": invitation_id}}, token=rep)
    assert cancelled["cancelMemberInvitation"]["invitation"]["status"] == "CANCELLED"
    after_cancel = await api.ok(
        ACCEPT, {"i": {"token": revived, "fullName": "H", "password": "a long password"}}
    )
    assert codes(after_cancel["acceptMemberInvitation"]) == ["INVALID_TOKEN"]
    twice_cancelled = await api.ok(CANCEL, {"i": {"id": invitation_id}}, token=rep)
    assert codes(twice_cancelled["cancelMemberInvitation"]) == ["INVITATION_NOT_PENDING"]
    # Another organization's invitation answers as missing.
    foreign = await api.ok(CANCEL, {"i": {"id": invitation_id}}, token=tokens["rep@full.example"])
    assert codes(foreign["cancelMemberInvitation"]) == ["NOT_FOUND"]


async def test_roles_and_the_last_legal_representative(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example", "admin@partner.example"])
    rep, admin = tokens["rep@partner.example"], tokens["admin@partner.example"]
    org_pk = world.organizations[PARTNER]
    org = gid("Organization", org_pk)
    rep_member = await member_id(sessionmaker, org_pk, world.users["rep@partner.example"])
    admin_member = await member_id(sessionmaker, org_pk, world.users["admin@partner.example"])

    last = await api.ok(
        CHANGE_ROLE, {"i": {"memberId": rep_member, "role": "ADMINISTRATOR"}}, token=rep
    )
    assert codes(last["changeMemberRole"]) == ["LAST_LEGAL_REPRESENTATIVE"]
    removed = await api.ok(REMOVE, {"i": {"memberId": rep_member}}, token=rep)
    assert codes(removed["removeMember"]) == ["LAST_LEGAL_REPRESENTATIVE"]
    left = await api.ok(LEAVE, {"i": {"organizationId": org}}, token=rep)
    assert codes(left["leaveOrganization"]) == ["LAST_LEGAL_REPRESENTATIVE"]
    by_admin = await api.ok(
        CHANGE_ROLE, {"i": {"memberId": admin_member, "role": "LEGAL_REPRESENTATIVE"}}, token=admin
    )
    assert codes(by_admin["changeMemberRole"]) == ["ROLE_NOT_ALLOWED"]

    audit_before, _ = await last_ids(sessionmaker)
    promoted = await api.ok(
        CHANGE_ROLE, {"i": {"memberId": admin_member, "role": "LEGAL_REPRESENTATIVE"}}, token=rep
    )
    assert promoted["changeMemberRole"]["member"]["role"] == "LEGAL_REPRESENTATIVE"
    # On its next request the promoted member acts as a legal representative.
    assert (await members_of(api, org, admin))["admin@partner.example"] == "LEGAL_REPRESENTATIVE"
    gone = await api.ok(LEAVE, {"i": {"organizationId": org}}, token=rep)
    assert gone["leaveOrganization"] == {"memberId": rep_member, "userErrors": []}
    assert (await api.ok(MY_ORGS, token=rep))["viewer"]["memberships"] == []
    events = await audit_events(sessionmaker, audit_before)
    assert [(e.action, e.before["role"], e.after and e.after["role"]) for e in events] == [
        ("member.change_role", "ADMINISTRATOR", "LEGAL_REPRESENTATIVE"),
        ("member.leave", "LEGAL_REPRESENTATIVE", None),
    ]


async def test_a_removed_member_loses_access_on_its_next_request(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example", "collab@partner.example"])
    collab = tokens["collab@partner.example"]
    partner = gid("Partner", world.partner_id)
    seen = await api.ok(CLIENTS, {"p": partner}, token=collab)
    assert [e["node"]["name"] for e in seen["node"]["clients"]["edges"]] == [FULL_CLIENT]
    collab_member = await member_id(
        sessionmaker, world.organizations[PARTNER], world.users["collab@partner.example"]
    )
    done = await api.ok(
        REMOVE, {"i": {"memberId": collab_member}}, token=tokens["rep@partner.example"]
    )
    assert done["removeMember"]["userErrors"] == []
    after = await api.gql(CLIENTS, {"p": partner}, token=collab)
    assert after.data["node"]["clients"] is None
    assert after.error_codes() == ["FORBIDDEN"]
    assert (await api.ok(MY_ORGS, token=collab))["viewer"]["memberships"] == []
    look = "query($id: ID!) { node(id: $id) { id } }"
    assert (await api.ok(look, {"id": collab_member}, token=tokens["rep@partner.example"]))[
        "node"
    ] is None


# Who may do what in the partner organization (role x action). "missing" = NOT_FOUND.
ACTIONS = ["invite COLLABORATOR", "invite ADMINISTRATOR", "change a role", "remove", "list"]
TABLE = {
    "LEGAL_REPRESENTATIVE": ["ok", "ok", "ok", "ok", "ok"],
    "ADMINISTRATOR": ["ok", "ROLE_NOT_ALLOWED", "ROLE_NOT_ALLOWED", "ROLE_NOT_ALLOWED", "ok"],
    "COLLABORATOR": ["ROLE_NOT_ALLOWED"] * 4 + ["FORBIDDEN"],
    "EXTERNAL": ["ROLE_NOT_ALLOWED"] * 4 + ["FORBIDDEN"],
    "outsider": ["NOT_FOUND"] * 4 + ["missing"],
}


@pytest.mark.parametrize("role", list(TABLE))
async def test_who_may_manage_members(api: Api, sessionmaker: Maker, world: Any, role: str) -> None:
    org_pk = world.organizations[PARTNER]
    org = gid("Organization", org_pk)
    email = f"{role.lower()}@actor.example"
    if role == "outsider":
        await add_member(sessionmaker, world.organizations[FULL_CLIENT], email, Role.ADMINISTRATOR)
    else:
        await add_member(sessionmaker, org_pk, email, Role(role))
    target = await add_member(sessionmaker, org_pk, "target@actor.example", Role.EXTERNAL)
    target_member = await member_id(sessionmaker, org_pk, target)
    token = (await session_tokens(sessionmaker, [email]))[email]

    async def outcome(document: str, name: str, variables: dict[str, Any]) -> str:
        payload = (await api.ok(document, {"i": variables}, token=token))[name]
        return payload["userErrors"][0]["code"] if payload["userErrors"] else "ok"

    seen = [
        await outcome(
            INVITE,
            "inviteMember",
            {"organizationId": org, "email": "c@new.example", "role": "COLLABORATOR"},
        ),
        await outcome(
            INVITE,
            "inviteMember",
            {"organizationId": org, "email": "a@new.example", "role": "ADMINISTRATOR"},
        ),
        await outcome(
            CHANGE_ROLE, "changeMemberRole", {"memberId": target_member, "role": "COLLABORATOR"}
        ),
        await outcome(REMOVE, "removeMember", {"memberId": target_member}),
    ]
    listed = await api.gql(MEMBERS, {"o": org}, token=token)
    if listed.data["node"] is None:
        seen.append("missing")
    elif listed.errors:
        assert listed.data["node"]["members"] is None
        seen.append(listed.error_codes()[0] or "")
    else:
        seen.append("ok")
    assert seen == TABLE[role]


async def test_bad_acceptances_write_nothing(api: Api, sessionmaker: Maker, world: Any) -> None:
    rep = await login(api, "rep@partner.example")
    org = gid("Organization", world.organizations[PARTNER])
    await api.ok(
        INVITE,
        {"i": {"organizationId": org, "email": "late@hire.example", "role": "EXTERNAL"}},
        token=rep,
    )
    token = await emailed_token(sessionmaker, "late@hire.example", "member_invitation")
    counts = await row_counts(sessionmaker)
    for variables, code in [
        ({"token": token, "fullName": "n" * 201, "password": "a long password"}, "TOO_LONG"),
        ({"token": token, "fullName": "Late", "password": "short"}, "PASSWORD_TOO_SHORT"),
        ({"token": token, "fullName": "Late"}, "INVALID_INPUT"),
        ({"token": "x" * 300}, "INVALID_TOKEN"),
    ]:
        data = await api.ok(ACCEPT, {"i": variables})
        assert codes(data["acceptMemberInvitation"]) == [code], variables
    assert await row_counts(sessionmaker) == counts
    # The link still works after all that.
    joined = await api.ok(
        ACCEPT, {"i": {"token": token, "fullName": "Late", "password": "a long password"}}
    )
    assert joined["acceptMemberInvitation"]["userErrors"] == []


async def test_invitation_emails_are_throttled(api: Api, sessionmaker: Maker, world: Any) -> None:
    rep = await login(api, "rep@partner.example")
    org = gid("Organization", world.organizations[PARTNER])
    first = await api.ok(
        INVITE,
        {"i": {"organizationId": org, "email": "spam@target.example", "role": "EXTERNAL"}},
        token=rep,
    )
    invitation = first["inviteMember"]["invitation"]["id"]
    answers = [
        await api.client.post(
            "/graphql",
            json={"query": RESEND, "variables": {"i": {"id": invitation}}},
            headers={"authorization": f"Bearer {rep}"},
        )
        for _ in range(5)
    ]
    # The default allows 5 emails an hour to one address: the sixth is refused, unsent.
    assert [a.status_code for a in answers] == [200] * 4 + [429]
    assert answers[4].json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    mails = await emails_to(sessionmaker, "spam@target.example")
    assert len(mails) == 5
