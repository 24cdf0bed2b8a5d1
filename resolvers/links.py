"""The one place that builds the links emails carry to the web console (PUBLIC_URL pages).

The web console (web/, served by `partnergraph serve` at `/`) has a page for each path
below; each reads `token` from the query string and calls the mutation named beside it.
The email also shows the token itself, which the mutation accepts just the same.
`tests/browser/test_emailed_links.py` opens every one of them in Chromium.

==================================  ===================================================
path                                page calls
==================================  ===================================================
/verify-email?token=T               verifyEmail(input: {token: T}) (sign-up, new email)
/reset-password?token=T             resetPassword(input: {token: T, newPassword: ...})
/reset-password                     requestPasswordReset(input: {email: ...})
/member-invitations/accept?token=T  acceptMemberInvitation(input: {token: T, ...})
/invitations/accept?token=T         grantInvitation(token: T), accept / refuse (grants)
/partnerships                       the signed-in side's partnerships and invitations
/bids/verify?token=T                verifyBidEmail(input: {token: T})
/bids/manage?token=T                authoredBid(token: T), awardOffer (a visitor's bid)
/partner/bids/ID                    receivedBids, makeOffer (a partner's received bid)
/login                              login (where an existing account signs in)
/settings/webhooks                  organization { webhookEndpoints } (update, replay)
==================================  ===================================================
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from strawberry.relay import to_base64

VERIFY_EMAIL_PATH = "/verify-email"
RESET_PASSWORD_PATH = "/reset-password"
ACCEPT_MEMBER_INVITATION_PATH = "/member-invitations/accept"
ACCEPT_GRANT_INVITATION_PATH = "/invitations/accept"
PARTNERSHIPS_PATH = "/partnerships"
VERIFY_BID_PATH = "/bids/verify"
MANAGE_BID_PATH = "/bids/manage"
RECEIVED_BID_PATH = "/partner/bids/{bid_id}"
LOGIN_PATH = "/login"
WEBHOOKS_PATH = "/settings/webhooks"


def _link(public_url: str, path: str, token: str | None = None) -> str:
    query = f"?{urlencode({'token': token})}" if token is not None else ""
    return f"{public_url.rstrip('/')}{path}{query}"


def verify_email_url(public_url: str, token: str) -> str:
    return _link(public_url, VERIFY_EMAIL_PATH, token)


def reset_password_url(public_url: str, token: str) -> str:
    return _link(public_url, RESET_PASSWORD_PATH, token)


def forgot_password_url(public_url: str) -> str:
    return _link(public_url, RESET_PASSWORD_PATH)


def accept_member_invitation_url(public_url: str, token: str) -> str:
    return _link(public_url, ACCEPT_MEMBER_INVITATION_PATH, token)


def accept_grant_invitation_url(public_url: str, token: str) -> str:
    return _link(public_url, ACCEPT_GRANT_INVITATION_PATH, token)


def partnerships_url(public_url: str) -> str:
    return _link(public_url, PARTNERSHIPS_PATH)


def verify_bid_url(public_url: str, token: str) -> str:
    return _link(public_url, VERIFY_BID_PATH, token)


def manage_bid_url(public_url: str, token: str) -> str:
    return _link(public_url, MANAGE_BID_PATH, token)


def received_bid_url(public_url: str, bid_id: int) -> str:
    """A partner's page of one received bid, by the bid's global ID (as the API names it)."""
    return _link(public_url, RECEIVED_BID_PATH.format(bid_id=quote(to_base64("Bid", bid_id))))


def login_url(public_url: str) -> str:
    return _link(public_url, LOGIN_PATH)


def webhooks_url(public_url: str) -> str:
    return _link(public_url, WEBHOOKS_PATH)
