"""The one schema: root types composed from each area's queries and mutations."""

from __future__ import annotations

import functools

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.schema.config import StrawberryConfig

from config import tracing
from schema.accounts import AccountMutations
from schema.auth import AuthMutations
from schema.bids import Bid, BidMutations, BidQueries, Offer
from schema.catalog import CatalogQueries
from schema.commerce import CommerceMutations, Order
from schema.cost import QueryCost
from schema.descriptions import describe
from schema.errors import PublicErrors
from schema.execution import FastExecutor
from schema.grants import GrantMutations
from schema.ledger import LedgerEntry, LedgerQueries
from schema.lockdown import NoSuggestions
from schema.members import MemberMutations
from schema.operation_log import LoggedSchema, OperationLog
from schema.program import PROGRAM_TYPES, ProgramMutations, ProgramQueries
from schema.queries import CoreQueries
from schema.quotes import QuoteQueries
from schema.request_rules import EdgeValidationCache, alias_limit, edge_rules
from schema.subscriptions import Subscription
from schema.types import Client, Grant, Invoice, Organization, Partner, Product, User
from schema.types.member import Member, MemberInvitation
from schema.types.session import Session
from schema.webhooks import WEBHOOK_TYPES, WebhookMutations


@strawberry.type(description="Read the partner program.")
class Query(CoreQueries, LedgerQueries, QuoteQueries, CatalogQueries, ProgramQueries, BidQueries):
    pass


@strawberry.type(description="Change the partner program. Each mutation takes one `input`.")
class Mutation(
    GrantMutations,
    AccountMutations,
    AuthMutations,
    MemberMutations,
    CommerceMutations,
    ProgramMutations,
    BidMutations,
    WebhookMutations,
):
    pass


def build_schema(
    *,
    production: bool = False,
    depth_limit: int = 12,
    introspection: bool = True,
    max_list_length: int = 100,
    max_aliases: int = 30,
) -> strawberry.Schema:
    """The schema for these settings. Built once per process for each configuration:
    a schema holds no per-request state, and building one costs about 0.1 s of CPU."""
    return _build_schema(
        production=production,
        depth_limit=depth_limit,
        introspection=introspection,
        max_list_length=max_list_length,
        max_aliases=max_aliases,
        traced=tracing.graphql_extension(),  # Strawberry's OpenTelemetry spans, when on
    )


@functools.cache
def _build_schema(
    *,
    production: bool,
    depth_limit: int,
    introspection: bool,
    max_list_length: int,
    max_aliases: int,
    traced: type[SchemaExtension] | None,
) -> strawberry.Schema:
    # Validation rules are classes made once: strawberry's ValidationCache is keyed by
    # them, and a class made per request (QueryDepthLimiter's) would never hit it.
    rules = (
        create_validator(depth_limit, None),
        *edge_rules(max_list_length=max_list_length, introspection=introspection),
    )
    lockdown: list[type[SchemaExtension]] = [NoSuggestions] if production else []
    too_many_aliases = alias_limit(max_aliases)
    observed: list[type[SchemaExtension]] = [traced] if traced is not None else []
    schema = LoggedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Bid,
            Client,
            Grant,
            Invoice,
            LedgerEntry,
            Member,
            MemberInvitation,
            Offer,
            Order,
            Organization,
            Partner,
            Product,
            Session,
            User,
            *PROGRAM_TYPES,
            *WEBHOOK_TYPES,
        ],
        config=StrawberryConfig(disable_field_suggestions=production),
        execution_context_class=FastExecutor,
        extensions=[
            lambda: AddValidationRules(list(rules)),
            lambda: MaxTokensLimiter(max_token_count=5000),
            lambda: ParserCache(maxsize=256),
            too_many_aliases,
            lambda: EdgeValidationCache(maxsize=256),
            PublicErrors,
            QueryCost,
            OperationLog,
            *lockdown,
            *observed,
        ],
    )
    describe(schema._schema)
    return schema
