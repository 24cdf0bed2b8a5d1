"""The ASGI application: GraphQL at /graphql, health probes, CORS, the outbox relay."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from app import console, edge_http
from app import idempotency as idempotency_http
from app.audit_export import audit_export_route
from app.edge_middleware import EdgeMiddleware
from app.exports import export_route
from app.memory import tune_after_start_up
from app.persisted_queries import PersistedQueryRefused
from app.request_limits import RequestLimitExceeded, check_request
from app.request_log import RequestLogMiddleware, RequestObserver
from app.runtime import Runtime
from config import tracing
from config.logs import current_request
from config.settings import Settings, get_settings
from resolvers.auth import authenticate, bearer_token
from resolvers.context import RequestContext
from resolvers.outage import is_outage
from schema.meta_only import META, operation_kind
from schema.root import build_schema

#: Where an HTTP request keeps its RequestContext (`request.state`), for __call__ to close.
_CONTEXT = "partnergraph_context"


class PartnerGraphQL(GraphQL[RequestContext, None]):
    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        super().__init__(
            build_schema(
                production=settings.production,
                depth_limit=settings.query_depth_limit,
                introspection=settings.introspection,
                max_list_length=settings.max_list_length,
                max_aliases=settings.max_aliases,
            ),
            graphql_ide="graphiql" if console.graphiql_enabled(settings) else None,
            allow_queries_via_get=not settings.production,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.runtime = runtime
        self.persisted = runtime.persisted_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            try:
                response = await self.run(request)
            except RequestLimitExceeded as exc:
                response = edge_http.refusal(exc.status_code, exc.code, exc.reason)
            except PersistedQueryRefused as exc:
                response = edge_http.refusal(exc.status, exc.code, exc.message)
            except HTTPException as exc:
                response = edge_http.http_exception_response(exc.status_code, exc.reason)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                response = edge_http.service_unavailable()
            await response(scope, receive, send)
        finally:
            # The read session ends (ROLLBACK, the connection back to the pool) and the
            # loaders' caches are freed once the answer is sent, not before: the client
            # does not wait for them. A streamed answer keeps its session until it ends.
            context: RequestContext | None = getattr(request.state, _CONTEXT, None)
            if context is not None:
                await context.close()

    async def render_graphql_ide(self, request: Request) -> Response:
        # The package's own GraphiQL build (app/console_dist/graphiql), not a CDN page.
        return console.graphiql_page()

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        status, headers = edge_http.refusal_status(response_data)
        if status is not None:
            sub_response.status_code = status
            sub_response.headers.update(headers)
        return super().create_response(response_data, sub_response)

    async def on_ws_connect(self, context: RequestContext) -> Any:
        """graphql-transport-ws: the bearer token comes in connection_init's payload."""
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        token = bearer_token(raw) if isinstance(raw, str) else None
        viewer = await authenticate(self.runtime.services, token)
        if viewer is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.act_as(viewer)
        context.subscription_token = token
        return UNSET

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        services = self.runtime.services
        context = RequestContext(
            services=services,
            request_authorization=request.headers.get("authorization"),
            client_ip=edge_http.client_ip(request, services.settings),
        )
        if isinstance(request, Request):  # HTTP: closed by __call__ once answered
            setattr(request.state, _CONTEXT, context)
        return context

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        context: RequestContext = kwargs["context"]
        data = kwargs["request_data"]
        kind = operation_kind(getattr(data, "query", None), getattr(data, "operation_name", None))
        if kind != META:
            token = bearer_token(context.request_authorization)
            # A query authenticates on its own read session (one connection for the
            # request); a mutation does not hold that session while it writes.
            db = context.db if kind == "query" else None
            viewer = await authenticate(self.runtime.services, token, db)
            if viewer is not None:
                context.act_as(viewer)
                record = current_request()
                if record is not None:
                    record.user_id = viewer.user_id
                    record.api_token_id = viewer.api_token_id
                    record.organizations = sorted(viewer.memberships)
        request = kwargs["request"]
        answered = await idempotency_http.before(request, context, data)
        if answered is not None:
            return answered
        try:
            return await super().execute_operation(*args, **kwargs)
        except BaseException:
            await idempotency_http.abandon(request)
            raise

    async def process_result(self, request: Any, result: Any) -> Any:
        response = await super().process_result(request, result)
        return await idempotency_http.after(request, response)

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            resolved = await self.persisted.resolve(item.query, item.extensions)
            item.query = resolved.query
            check_request(self.runtime.settings, item.query, item.variables)
            await self.persisted.register(resolved)  # within the limits only
        return data

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses invalid UTF-8 as a JSONDecodeError: a 400 with a JSON body.
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        # The same compact JSON as Strawberry's json.dumps(separators=(",", ":")), faster.
        return orjson.dumps(data)


def create_app(settings: Settings | None = None, *, start_workers: bool = True) -> Starlette:
    settings = settings or get_settings()
    tracing.setup_tracing("partnergraph-api")  # only if OTEL_* say so; before any engine
    runtime = Runtime(settings, start_workers=start_workers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        tune_after_start_up()
        try:
            yield
        finally:
            await runtime.stop()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            schema = await runtime.check_schema()  # reaches the database, reads its version
            checks["database"], checks["schema"] = "ok", schema
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        checks.update(await runtime.check_broker())
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503
        )

    graphql = PartnerGraphQL(runtime, settings)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        export_route,
        audit_export_route,
    ]
    observers: list[RequestObserver] = []
    if settings.metrics_enabled:
        from app.metrics import metrics_endpoint, observe_request

        routes.append(Route("/metrics", metrics_endpoint(runtime)))
        observers.append(observe_request)
    # Last: the web console answers every other GET (its pages, the emailed links).
    routes.extend(console.routes(settings))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLogMiddleware, observers=observers),
            Middleware(EdgeMiddleware, settings=settings),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type", "idempotency-key"],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    tracing.instrument_app(app)
    return app


def served_app() -> Starlette:
    """What `partnergraph serve` runs in each API process (uvicorn's factory): this
    process's logging (a uvicorn worker is a new interpreter), then the app."""
    from config.logs import configure_logging

    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
