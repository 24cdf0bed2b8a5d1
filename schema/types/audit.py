"""The audit trail as the API shows it: `Organization.auditEvents`, `Grant.auditEvents`."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from resolvers.audit.queries import AuditEventView, AuditFilter
from resolvers.errors import UseCaseError
from schema.context import Info
from schema.ids import decode_id, encode_id

#: Audit subject types whose GraphQL type is named differently.
NODE_TYPES = {"Membership": "Member", "AuthSession": "Session"}


@strawberry.enum(description="Who acted.")
class AuditActorKind(enum.Enum):
    USER = "USER"
    API_TOKEN = "API_TOKEN"
    SYSTEM = "SYSTEM"


@strawberry.type(description="Who acted: a person, an API token, or the system.")
class AuditActor:
    kind: AuditActorKind = strawberry.field(description="A person, a token, the system.")
    name: str | None = strawberry.field(description="The person's or the token's name.")


@strawberry.type(description="One change (or staff read), with the state before and after.")
class AuditEvent(relay.Node):
    id: relay.NodeID[int]
    occurred_at: datetime = strawberry.field(description="When.")
    kind: str = strawberry.field(description="What, e.g. `grant.accept`, `member.invite`.")
    actor: AuditActor = strawberry.field(description="Who.")
    subject_id: strawberry.ID = strawberry.field(
        description="The global ID of the object it changed (it may no longer resolve)."
    )
    subject_type: str = strawberry.field(description="That object's type.")
    before: JSON | None = strawberry.field(
        description="Its state before (amounts null where the viewer may not read them)."
    )
    after: JSON | None = strawberry.field(description="Its state after (same rule).")

    @classmethod
    def of(cls, view: AuditEventView) -> AuditEvent:
        node_type = NODE_TYPES.get(view.subject_type, view.subject_type)
        return cls(
            id=view.id,
            occurred_at=view.occurred_at,
            kind=view.kind,
            actor=AuditActor(kind=AuditActorKind(view.actor_kind), name=view.actor_name),
            subject_id=strawberry.ID(encode_id(node_type, view.subject_id)),
            subject_type=node_type,
            before=cast(JSON, view.before),
            after=cast(JSON, view.after),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Any, required: bool = False
    ) -> list[AuditEvent | None]:
        # Events are read through their organization's or grant's trail only.
        return [None for _ in node_ids]


@strawberry.input(description="Which events: every condition given must hold.")
class AuditEventFilter:
    kinds: list[str] | None = strawberry.field(default=None, description="These kinds only.")
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Done by this person (a User ID)."
    )
    grant_id: strawberry.ID | None = strawberry.field(
        default=None, description="About this grant (a Grant ID)."
    )
    since: datetime | None = strawberry.field(default=None, description="At or after.")
    until: datetime | None = strawberry.field(default=None, description="Before.")


def to_filter(given: AuditEventFilter | None) -> AuditFilter:
    if given is None:
        return AuditFilter()
    if given.kinds is not None and len(given.kinds) > 50:
        raise UseCaseError("TOO_LONG", "At most 50 kinds.", "filter.kinds")
    return AuditFilter(
        kinds=frozenset(given.kinds or ()),
        actor_user_id=decode_id(given.actor_id, "User", "filter.actorId")
        if given.actor_id
        else None,
        grant_id=decode_id(given.grant_id, "Grant", "filter.grantId") if given.grant_id else None,
        since=given.since,
        until=given.until,
    )
