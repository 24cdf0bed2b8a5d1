"""Bids: post (visitor or client), verify the email link, receive, offer, award.

Who sees what of a bid
    - its author (the signed-in person who posted it, or a visitor holding the link from
      the confirmation email: ``authoredBid(authorToken:)``): everything, with the offers;
    - a partner it was delivered to (legal representatives and administrators): the bid
      without its author, and its own offer. ``authorContact`` stays null until that
      partner's offer is awarded;
    - anyone else: nothing (``node(id:)`` answers null, as for a missing bid).

Who receives a bid
    Every active partner whose directory listing (``updateDirectoryListing``: languages,
    regions, product families) takes the bid's language, region and one of its families,
    whether or not the listing is published. There is no separate bid profile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry import relay

from db import models
from domain.bids import BidStatus, effective_status
from domain.errors import DomainError
from resolvers import bids as use_cases
from resolvers.loaders.bids import acting_partners, bid_loaders, receiving_partner_id
from resolvers.pagination import page_of_list
from schema.base import (
    After,
    Before,
    Connection,
    Currency,
    First,
    Last,
    Money,
    ProductFamily,
    UserError,
    mutate,
    page_request,
    product_families,
    to_connection,
)
from schema.context import Info
from schema.ids import decode_id, primary_key
from schema.permissions import Forbidden, IsPerson

strawberry.enum(BidStatus, description="Where a bid is in its lifecycle.")

T = TypeVar("T")


async def _query(action: Callable[[], Awaitable[T]]) -> T:
    """A query has no payload: a rule it breaks is a GraphQL error with the same code."""
    try:
        return await action()
    except DomainError as error:
        raise GraphQLError(
            error.message, extensions={"code": error.code, "field": error.field}
        ) from error


class IsBidAuthor(Forbidden):
    """The offers of a bid: its author only."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(source.as_author)


@strawberry.type(description="How to reach a bid's author.")
class BidContact:
    name: str = strawberry.field(description="The author's name.")
    email: str = strawberry.field(description="The author's email address.")


@strawberry.type(description="A partner's offer on a bid.")
class Offer(relay.Node):
    id: relay.NodeID[int]
    amount: Money = strawberry.field(description="The price offered, in the bid's currency.")
    message: str = strawberry.field(description="The partner's message to the author.")
    created_at: datetime = strawberry.field(description="When it was made.")
    row: strawberry.Private[models.Offer]

    @classmethod
    def of(cls, row: models.Offer) -> Offer:
        return cls(
            id=row.id,
            amount=Money(amount=Decimal(row.amount), currency=row.currency),
            message=row.message,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field(description="The partner that made it.")
    async def partner_name(self, info: Info) -> str:
        partner = await info.context.loaders.partner.load(self.row.partner_id)
        if partner is None:
            return ""
        org = await info.context.loaders.organization.load(partner.organization_id)
        return org.name if org else ""

    @strawberry.field(description="Whether the author awarded this offer.")
    async def awarded(self, info: Info) -> bool:
        bid = await bid_loaders(info.context).bid.load(self.row.bid_id)
        return bid is not None and bid.awarded_offer_id == self.id

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Offer | None]:
        loaders = bid_loaders(info.context)
        mine = {p.id for p in await acting_partners(info.context)}
        result: list[Offer | None] = []
        for raw in node_ids:
            pk = primary_key(raw)
            row = await loaders.offer.load(pk) if pk is not None else None
            bid = await loaders.bid.load(row.bid_id) if row is not None else None
            visible = row is not None and (
                row.partner_id in mine
                or (
                    bid is not None
                    and bid.author_user_id is not None
                    and bid.author_user_id == info.context.viewer.user_id
                )
            )
            result.append(cls.of(row) if visible and row is not None else None)
        return result


@strawberry.type(
    description="A request for quotes. Its author sees the offers; the partners it was "
    "delivered to see the request (without the author's contact details until their offer "
    "is awarded) and their own offer."
)
class Bid(relay.Node):
    id: relay.NodeID[int]
    description: str = strawberry.field(description="What the author needs.")
    product_families: list[ProductFamily] = strawberry.field(
        description="The product families wanted."
    )
    budget: Money = strawberry.field(description="The author's budget.")
    language: str = strawberry.field(description="The project's language (ISO 639-1).")
    region: str = strawberry.field(description="The project's region (ISO 3166).")
    deadline: datetime = strawberry.field(description="Offers are taken until then.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    published_at: datetime | None = strawberry.field(
        description="When it went out to the partners (null while the email is unverified)."
    )
    row: strawberry.Private[models.Bid]
    as_author: strawberry.Private[bool]
    as_partner_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: models.Bid, *, as_author: bool, as_partner_id: int | None = None) -> Bid:
        return cls(
            id=row.id,
            description=row.description,
            product_families=product_families(row.product_families),
            budget=Money(amount=Decimal(row.budget_amount), currency=row.currency),
            language=row.language,
            region=row.region,
            deadline=row.deadline,
            created_at=row.created_at,
            published_at=row.published_at,
            row=row,
            as_author=as_author,
            as_partner_id=as_partner_id,
        )

    @strawberry.field(description="The status now: a waiting bid past its deadline is EXPIRED.")
    def status(self, info: Info) -> BidStatus:
        return effective_status(self.row.status, self.row.deadline, info.context.now())

    @strawberry.field(
        description="How many partners it went out to (author only; null before it went out)."
    )
    def matching_partners(self) -> int | None:
        return self.row.matching_partners if self.as_author else None

    @strawberry.field(
        description="The offers received, oldest first (author only).",
        permission_classes=[IsBidAuthor],
        deprecation_reason="Use `receivedOffers` (a connection, with totalCount).",
    )
    async def offers(self, info: Info) -> list[Offer] | None:
        rows = await bid_loaders(info.context).offers_of_bid.load(self.id)
        return [Offer.of(r) for r in rows]

    @strawberry.field(
        description="The offers received, oldest first (author only).",
        permission_classes=[IsBidAuthor],
    )
    async def received_offers(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Offer] | None:
        request = page_request(info, first, after, last, before)
        rows = await bid_loaders(info.context).offers_of_bid.load(self.id)
        return to_connection(page_of_list(rows, [r.id for r in rows], request), Offer.of)

    @strawberry.field(description="The offer the author awarded: for the author and its partner.")
    async def awarded_offer(self, info: Info) -> Offer | None:
        if self.row.awarded_offer_id is None:
            return None
        offer = await bid_loaders(info.context).offer.load(self.row.awarded_offer_id)
        if offer is None or not (self.as_author or offer.partner_id == self.as_partner_id):
            return None
        return Offer.of(offer)

    @strawberry.field(description="Your organization's offer on this bid (partner view).")
    async def my_offer(self, info: Info) -> Offer | None:
        if self.as_partner_id is None:
            return None
        row = await bid_loaders(info.context).offer_of_partner.load((self.id, self.as_partner_id))
        return Offer.of(row) if row else None

    @strawberry.field(
        description="The author's name and email: for the author, and for the partner whose "
        "offer was awarded (null for every other partner)."
    )
    async def author_contact(self, info: Info) -> BidContact | None:
        contact = BidContact(name=self.row.author_name, email=self.row.author_email)
        if self.as_author:
            return contact
        if self.as_partner_id is None or self.row.awarded_offer_id is None:
            return None
        offer = await bid_loaders(info.context).offer.load(self.row.awarded_offer_id)
        return contact if offer is not None and offer.partner_id == self.as_partner_id else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Bid | None]:
        ctx = info.context
        result: list[Bid | None] = []
        for raw in node_ids:
            pk = primary_key(raw)
            row = await bid_loaders(ctx).bid.load(pk) if pk is not None else None
            if row is None:
                result.append(None)
            elif row.author_user_id is not None and row.author_user_id == ctx.viewer.user_id:
                result.append(cls.of(row, as_author=True))
            else:
                partner_id = await receiving_partner_id(ctx, row.id)
                result.append(
                    None
                    if partner_id is None
                    else cls.of(row, as_author=False, as_partner_id=partner_id)
                )
        return result


# -- inputs and payloads ------------------------------------------------------------------------


@strawberry.input(description="An amount of money: a decimal string and its currency.")
class BidMoneyInput:
    amount: Decimal = strawberry.field(description='At most two decimals, e.g. "4800.00".')
    currency: Currency = strawberry.field(description="CHF or EUR.")


@strawberry.input(
    description="A request for quotes. Signed in: it goes out at once, with your account's "
    "name and email as contact. Without an account: give `email` and `contactName`; the bid "
    "goes out once you open the link emailed to you."
)
class PostBidInput:
    description: str = strawberry.field(description="What you need (20-4000 characters).")
    product_families: list[ProductFamily] = strawberry.field(description="What you need.")
    budget: BidMoneyInput = strawberry.field(description="Your budget.")
    language: str = strawberry.field(description="ISO 639-1 code, e.g. fr.")
    region: str = strawberry.field(description="ISO 3166 code, e.g. CH or CH-VD.")
    deadline: datetime = strawberry.field(
        description="Offers are taken until then (1 hour to 180 days from now)."
    )
    email: str | None = strawberry.field(default=None, description="Visitors: your email.")
    contact_name: str | None = strawberry.field(default=None, description="Visitors: your name.")


@strawberry.type(description="The bid posted, or why nothing was posted.")
class PostBidPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    bid: Bid | None = strawberry.field(default=None, description="The bid.")
    matching_partners: int | None = strawberry.field(
        default=None,
        description="How many partners it went out to; null while the email is unverified.",
    )
    verification_sent: bool = strawberry.field(
        default=False, description="A visitor's bid: the confirmation link was emailed."
    )


@strawberry.input(description="The link emailed to a visitor who posted a bid.")
class VerifyBidEmailInput:
    token: str = strawberry.field(description="The token of the emailed link.")


@strawberry.type(description="The bid that went out (or found no partner), or why not.")
class VerifyBidEmailPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    bid: Bid | None = strawberry.field(default=None, description="The bid.")
    matching_partners: int | None = strawberry.field(
        default=None, description="Partners it went out to; 0: status NO_MATCH, none received it."
    )
    author_token: str | None = strawberry.field(
        default=None,
        description="Your secret to see the offers and award one (`authoredBid`, "
        "`awardOffer`); also emailed as a link.",
    )


@strawberry.input(description="A partner's offer on a bid it received.")
class MakeOfferInput:
    bid_id: relay.GlobalID = strawberry.field(description="The bid.")
    partner_id: relay.GlobalID = strawberry.field(description="The partner offering.")
    amount: BidMoneyInput = strawberry.field(description="The price, in the bid's currency.")
    message: str | None = strawberry.field(default=None, description="Up to 2000 characters.")


@strawberry.type(description="The offer made, or why not.")
class MakeOfferPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    offer: Offer | None = strawberry.field(default=None, description="The offer.")


@strawberry.input(description="Award one offer of your bid.")
class AwardOfferInput:
    offer_id: relay.GlobalID = strawberry.field(description="The offer.")
    author_token: str | None = strawberry.field(
        default=None, description="Visitors: the secret from the confirmation email."
    )


@strawberry.type(description="The awarded bid and offer, or why not.")
class AwardOfferPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    bid: Bid | None = strawberry.field(default=None, description="The bid, now AWARDED.")
    offer: Offer | None = strawberry.field(default=None, description="The awarded offer.")


# -- root fields ------------------------------------------------------------------------------


@strawberry.type
class BidQueries:
    @strawberry.field(
        description="Bids delivered to a partner you act for (legal representative or "
        "administrator), oldest first."
    )
    async def received_bids(
        self,
        info: Info,
        partner_id: relay.GlobalID,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Bid]:
        async def run() -> Connection[Bid]:
            pid = decode_id(partner_id, "Partner", "partnerId")
            page = await use_cases.received_bids_page(
                info.context, pid, page_request(info, first, after, last, before)
            )
            return to_connection(page, lambda r: Bid.of(r, as_author=False, as_partner_id=pid))

        return await _query(run)

    @strawberry.field(
        description="The bids you posted while signed in, oldest first.",
        permission_classes=[IsPerson],
    )
    async def my_bids(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Bid]:
        async def run() -> Connection[Bid]:
            page = await use_cases.authored_bids_page(
                info.context, page_request(info, first, after, last, before)
            )
            return to_connection(page, lambda r: Bid.of(r, as_author=True))

        return await _query(run)

    @strawberry.field(
        description="A visitor's bid, by the secret from its confirmation email; null if "
        "the secret is wrong."
    )
    async def authored_bid(self, info: Info, author_token: str) -> Bid | None:
        row = await use_cases.bid_by_author_token(info.context, author_token)
        return Bid.of(row, as_author=True) if row else None


@strawberry.type
class BidMutations:
    @strawberry.mutation(
        description="Post a request for quotes, signed in or as a visitor (the email is "
        "verified by a link first). NO_MATCHING_PARTNER: no active partner takes such bids; "
        "nothing is posted."
    )
    async def post_bid(self, info: Info, input: PostBidInput) -> PostBidPayload:
        async def run() -> dict[str, Any]:
            posted = await use_cases.post_bid(
                info.context,
                description=input.description,
                product_families=input.product_families,
                budget_amount=input.budget.amount,
                currency=input.budget.currency,
                language=input.language,
                region=input.region,
                deadline=input.deadline,
                email=input.email,
                contact_name=input.contact_name,
            )
            return {
                "bid": Bid.of(posted.bid, as_author=True),
                "matching_partners": posted.matching_partners,
                "verification_sent": posted.verification_sent,
            }

        return await mutate(PostBidPayload, run)

    @strawberry.mutation(
        description="Open the link emailed to a visitor: the bid goes out. The link works "
        "once (BID_LINK_USED) and only before the deadline (BID_CLOSED)."
    )
    async def verify_bid_email(
        self, info: Info, input: VerifyBidEmailInput
    ) -> VerifyBidEmailPayload:
        async def run() -> dict[str, Any]:
            verified = await use_cases.verify_bid_email(info.context, token=input.token)
            return {
                "bid": Bid.of(verified.bid, as_author=True),
                "matching_partners": verified.matching_partners,
                "author_token": verified.author_token,
            }

        return await mutate(VerifyBidEmailPayload, run)

    @strawberry.mutation(
        description="Offer on a bid your partner received, while it is OPEN "
        "(OFFER_NOT_ALLOWED, BID_CLOSED, OFFER_EXISTS)."
    )
    async def make_offer(self, info: Info, input: MakeOfferInput) -> MakeOfferPayload:
        async def run() -> dict[str, Any]:
            offer = await use_cases.make_offer(
                info.context,
                bid_id=decode_id(input.bid_id, "Bid", "bidId"),
                partner_id=decode_id(input.partner_id, "Partner", "partnerId"),
                amount=input.amount.amount,
                currency=input.amount.currency,
                message=input.message,
            )
            return {"offer": Offer.of(offer)}

        return await mutate(MakeOfferPayload, run)

    @strawberry.mutation(
        description="Award one offer of your bid (ALREADY_AWARDED, BID_CLOSED); its partner "
        "receives your contact details."
    )
    async def award_offer(self, info: Info, input: AwardOfferInput) -> AwardOfferPayload:
        async def run() -> dict[str, Any]:
            awarded = await use_cases.award_offer(
                info.context,
                offer_id=decode_id(input.offer_id, "Offer", "offerId"),
                author_token=input.author_token,
            )
            return {
                "bid": Bid.of(awarded.bid, as_author=True),
                "offer": Offer.of(awarded.offer),
            }

        return await mutate(AwardOfferPayload, run)
