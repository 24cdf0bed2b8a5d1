"""The audit trail's CSV route (`resolvers.audit.export`): bearer token as for GraphQL; 401
without valid credentials; 404 for an organization whose trail the viewer may not read,
exactly as for one that does not exist."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from resolvers.audit.export import AUDIT_EXPORT_PATH, audit_csv, may_export
from resolvers.auth import authenticate, bearer_token
from schema.ids import parse_global_id


async def organization_audit_csv(request: Request) -> Response:
    services = request.app.state.runtime.services
    viewer = await authenticate(services, bearer_token(request.headers.get("authorization")))
    if viewer is None:
        return JSONResponse(
            {"error": "UNAUTHENTICATED"}, status_code=401, headers={"www-authenticate": "Bearer"}
        )
    parsed = parse_global_id(str(request.path_params["organization_id"]))
    pk = parsed[1] if parsed is not None and parsed[0] == "Organization" else None
    if pk is None or not may_export(viewer, pk):
        return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
    return StreamingResponse(
        audit_csv(services, viewer, pk),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="organization-{pk}-audit.csv"',
            "cache-control": "no-store",
        },
    )


audit_export_route = Route(AUDIT_EXPORT_PATH, organization_audit_csv, methods=["GET"])
