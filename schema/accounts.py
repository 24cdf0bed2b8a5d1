"""Accounts: sign-up and email verification, passwords, email change, sessions, logout.

Emailed tokens arrive through links to PUBLIC_URL pages (`resolvers.links`); each email
also shows the token, which these mutations accept as it is.
"""

from __future__ import annotations

import strawberry

from resolvers.accounts import email_change, passwords, sessions, signup
from schema.auth import AuthPayload
from schema.base import Currency, OrganizationKind, UserError, mutate
from schema.context import Info
from schema.ids import decode_id
from schema.permissions import IsPerson
from schema.types import User
from schema.types.session import Session


@strawberry.input(description="A new account and its own organization.")
class SignUpInput:
    email: str = strawberry.field(description="Login email.")
    password: str = strawberry.field(description="At least 10 characters.")
    full_name: str = strawberry.field(description="The person's name.")
    organization_name: str = strawberry.field(description="The organization it represents.")
    currency: Currency = strawberry.field(description="The organization's currency.")
    organization_kind: OrganizationKind = strawberry.field(
        default=OrganizationKind.COMPANY, description="Company or individual."
    )


@strawberry.type(
    description="Sign-up received: the same answer for a new and for a taken email. A "
    "verification link goes to the address; follow it (`verifyEmail`) to log in."
)
class SignUpPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    email: str | None = strawberry.field(default=None, description="Where the link went.")


@strawberry.input(description="An emailed token (from the link, or pasted from the email).")
class VerifyEmailInput:
    token: str = strawberry.field(description="The token of the verification link.")


@strawberry.input(description="The address whose verification link to send again.")
class EmailInput:
    email: str = strawberry.field(description="The account's email.")


@strawberry.type(description="Received: the same answer whether the address has an account.")
class EmailSentPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    email: str | None = strawberry.field(
        default=None, description="The address, normalized; an email goes there if it may."
    )


@strawberry.input(description="A new password through the emailed reset link.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token of the reset link.")
    new_password: str = strawberry.field(description="At least 10 characters.")


@strawberry.input(description="A new password, confirmed by the current one.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The current password.")
    new_password: str = strawberry.field(description="At least 10 characters.")


@strawberry.type(description="The password changed; the viewer's other sessions ended.")
class ChangePasswordPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    user: User | None = strawberry.field(default=None, description="The viewer.")


@strawberry.input(description="A new login email, confirmed by the password.")
class ChangeEmailInput:
    new_email: str = strawberry.field(description="The new address (verified by a link).")
    password: str = strawberry.field(description="The current password.")


@strawberry.input(description="One of the viewer's sessions to end.")
class EndSessionInput:
    id: strawberry.ID = strawberry.field(description="A `Session` ID (`viewer.sessions`).")


@strawberry.type(description="The session ended.")
class EndSessionPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    session: Session | None = strawberry.field(default=None, description="The session.")


@strawberry.input(description="Which sessions to end.")
class LogoutInput:
    everywhere: bool = strawberry.field(
        default=False, description="End every session of the viewer, not only this one."
    )


@strawberry.type(description="The result of a logout.")
class LogoutPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    ok: bool = strawberry.field(default=False, description="The sessions ended.")
    ended_sessions: int = strawberry.field(default=0, description="How many ended.")


def _signed_in(done: sessions.SignedIn) -> dict[str, object]:
    return {"token": done.token, "expires_at": done.expires_at, "user": User.of(done.user)}


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Create an account and its organization, and email a verification link. "
        "Answers alike for a taken email (its owner is told by email); opens no session."
    )
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpPayload:
        async def run() -> dict[str, object]:
            email = await signup.sign_up(
                info.context,
                email=input.email,
                password=input.password,
                full_name=input.full_name,
                organization_name=input.organization_name,
                currency=input.currency,
                organization_kind=input.organization_kind,
            )
            return {"email": email}

        return await mutate(SignUpPayload, run)

    @strawberry.mutation(
        description="Redeem an emailed verification link (a sign-up or a new email), once; "
        "logs the person in."
    )
    async def verify_email(self, info: Info, input: VerifyEmailInput) -> AuthPayload:
        async def run() -> dict[str, object]:
            return _signed_in(await signup.verify_email(info.context, token=input.token))

        return await mutate(AuthPayload, run)

    @strawberry.mutation(description="Send the verification link again (same answer for all).")
    async def resend_verification(self, info: Info, input: EmailInput) -> EmailSentPayload:
        async def run() -> dict[str, object]:
            return {"email": await signup.resend_verification(info.context, email=input.email)}

        return await mutate(EmailSentPayload, run)

    @strawberry.mutation(
        description="Email a password reset link valid one hour (same answer for all)."
    )
    async def request_password_reset(self, info: Info, input: EmailInput) -> EmailSentPayload:
        async def run() -> dict[str, object]:
            return {
                "email": await passwords.request_password_reset(info.context, email=input.email)
            }

        return await mutate(EmailSentPayload, run)

    @strawberry.mutation(
        description="Set a new password through the reset link, once; ends every session and "
        "logs in anew."
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> AuthPayload:
        async def run() -> dict[str, object]:
            done = await passwords.reset_password(
                info.context, token=input.token, new_password=input.new_password
            )
            return _signed_in(done)

        return await mutate(AuthPayload, run)

    @strawberry.mutation(
        description="Change the password (with the current one); ends the other sessions.",
        permission_classes=[IsPerson],
    )
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        async def run() -> dict[str, object]:
            user = await passwords.change_password(
                info.context,
                current_password=input.current_password,
                new_password=input.new_password,
            )
            return {"user": User.of(user)}

        return await mutate(ChangePasswordPayload, run)

    @strawberry.mutation(
        description="Change the login email: a link to the new address confirms it "
        "(`verifyEmail`); the old address is told.",
        permission_classes=[IsPerson],
    )
    async def change_email(self, info: Info, input: ChangeEmailInput) -> EmailSentPayload:
        async def run() -> dict[str, object]:
            email = await email_change.change_email(
                info.context, new_email=input.new_email, password=input.password
            )
            return {"email": email}

        return await mutate(EmailSentPayload, run)

    @strawberry.mutation(description="End one of your sessions.", permission_classes=[IsPerson])
    async def end_session(self, info: Info, input: EndSessionInput) -> EndSessionPayload:
        async def run() -> dict[str, object]:
            row = await sessions.end_session(
                info.context, session_id=decode_id(input.id, "Session", "id")
            )
            return {"session": Session.of(row, info.context.viewer.session_id)}

        return await mutate(EndSessionPayload, run)

    @strawberry.mutation(
        description="End this session, or with `everywhere` all your sessions.",
        permission_classes=[IsPerson],
    )
    async def logout(self, info: Info, input: LogoutInput | None = None) -> LogoutPayload:
        everywhere = input.everywhere if input is not None else False

        async def run() -> dict[str, object]:
            ended = await sessions.logout(info.context, everywhere=everywhere)
            return {"ok": True, "ended_sessions": ended}

        return await mutate(LogoutPayload, run)
