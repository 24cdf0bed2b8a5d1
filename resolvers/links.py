"""The one place that builds the links emails carry to the web console (PUBLIC_URL pages).

The web console serves these pages; each reads `token` from the query string and calls
the mutation named beside it. Until a page exists, the email also shows the token itself,
which the mutation accepts just the same.

==================================  ===================================================
path                                page calls
==================================  ===================================================
/verify-email?token=T               verifyEmail(input: {token: T}) (sign-up, new email)
/reset-password?token=T             resetPassword(input: {token: T, newPassword: ...})
/reset-password                     requestPasswordReset(input: {email: ...})
/member-invitations/accept?token=T  acceptMemberInvitation(input: {token: T, ...})
/login                              login (where an existing account signs in)
/settings/webhooks                  organization { webhookEndpoints } (update, replay)
==================================  ===================================================
"""

from __future__ import annotations

from urllib.parse import urlencode

VERIFY_EMAIL_PATH = "/verify-email"
RESET_PASSWORD_PATH = "/reset-password"
ACCEPT_MEMBER_INVITATION_PATH = "/member-invitations/accept"
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


def login_url(public_url: str) -> str:
    return _link(public_url, LOGIN_PATH)


def webhooks_url(public_url: str) -> str:
    return _link(public_url, WEBHOOKS_PATH)
