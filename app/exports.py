"""`GET /exports/clients/{client_id}/billing.csv`: a client's billing data as streamed CSV.

Authenticated like GraphQL (`Authorization: Bearer <login or API token>`); `client_id` is
the client's global ID: a `Client` (a partner's view of its client) or an `Organization`
(the client's own members). 401 without valid credentials; 404 for a client the viewer
cannot see, exactly as for one that does not exist.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from resolvers.auth import authenticate, bearer_token
from resolvers.exports import EXPORT_PATH, billing_csv, billing_scope
from schema.ids import parse_global_id

PATH = EXPORT_PATH


def _not_found() -> Response:
    return JSONResponse({"error": "NOT_FOUND"}, status_code=404)


async def client_billing_csv(request: Request) -> Response:
    services = request.app.state.runtime.services
    viewer = await authenticate(services, bearer_token(request.headers.get("authorization")))
    if viewer is None:
        return JSONResponse(
            {"error": "UNAUTHENTICATED"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    parsed = parse_global_id(str(request.path_params["client_id"]))
    if parsed is None:
        return _not_found()
    type_name, pk = parsed
    if type_name == "Client":
        scope = await billing_scope(services, viewer, grant_id=pk)
    elif type_name == "Organization":
        scope = await billing_scope(services, viewer, organization_id=pk)
    else:
        return _not_found()
    if scope is None:
        return _not_found()
    return StreamingResponse(
        billing_csv(services, scope),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="client-{scope.client_id}-billing.csv"',
            "cache-control": "no-store",
        },
    )


export_route = Route(PATH, client_billing_csv, methods=["GET"])
