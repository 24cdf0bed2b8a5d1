"""`GET /exports/organizations/{organization_id}/audit.csv`: an organization's audit trail
as streamed CSV, newest first, beside the billing export. Who may: the organization's
legal representatives and administrators; amounts as `domain.audit` allows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from domain.access import Viewer
from domain.audit import may_read_trail
from resolvers.audit.queries import stream_organization_events
from resolvers.context import Services
from resolvers.exports import _csv, _text

AUDIT_EXPORT_PATH = "/exports/organizations/{organization_id}/audit.csv"
COLUMNS = (
    "id",
    "occurred_at",
    "kind",
    "actor_kind",
    "actor_name",
    "organization_id",
    "subject_type",
    "subject_id",
    "before",
    "after",
)


def audit_export_url(public_url: str, organization_global_id: str) -> str:
    return public_url.rstrip("/") + AUDIT_EXPORT_PATH.format(organization_id=organization_global_id)


def may_export(viewer: Viewer, organization_id: int) -> bool:
    return may_read_trail(viewer.role_in(organization_id))


def _json(state: object) -> str:
    return "" if state is None else _text(json.dumps(state, sort_keys=True, default=str))


async def audit_csv(services: Services, viewer: Viewer, organization_id: int) -> AsyncIterator[str]:
    yield _csv([COLUMNS])
    async for views in stream_organization_events(services, viewer, organization_id):
        yield _csv(
            (
                v.id,
                v.occurred_at.isoformat(),
                v.kind,
                v.actor_kind,
                _text(v.actor_name or ""),
                v.organization_id or "",
                v.subject_type,
                v.subject_id,
                _json(v.before),
                _json(v.after),
            )
            for v in views
        )
