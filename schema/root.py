"""The one schema: root types composed from each area's queries and mutations."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.schema.config import StrawberryConfig

from schema.auth import AuthMutations
from schema.grants import GrantMutations
from schema.queries import CoreQueries
from schema.types import Client, Grant, Invoice, Organization, Partner, Product, User


@strawberry.type(description="Read the partner program.")
class Query(CoreQueries):
    pass


@strawberry.type(description="Change the partner program. Each mutation takes one `input`.")
class Mutation(GrantMutations, AuthMutations):
    pass


def build_schema(*, production: bool = False, depth_limit: int = 12) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Client, Grant, Invoice, Organization, Partner, Product, User],
        config=StrawberryConfig(disable_field_suggestions=production),
        extensions=[
            lambda: QueryDepthLimiter(max_depth=depth_limit),
            lambda: MaxTokensLimiter(max_token_count=5000),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
    )
