"""The web console's operations are registered: its build writes them, exactly as its urql
client sends them, to app/console_dist/console/persisted-query-manifest.json, and the
server loads that file at start-up, so the allowlist mode of production runs every one of
them and refuses anything else (the browser tests drive the console itself in that mode)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    is_non_null_type,
    parse,
    type_from_ast,
    validate,
)
from graphql.pyutils import Undefined

from app.asgi import create_app
from app.persisted_queries import CONSOLE_MANIFEST
from config.settings import Settings
from schema.root import build_schema

WEB_OPERATIONS = Path(__file__).resolve().parents[2] / "web" / "src" / "graphql"
SCALARS: dict[str, Any] = {
    "ID": "T3JnYW5pemF0aW9uOjE=",  # Organization:1
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "DateTime": "2030-01-01T00:00:00+00:00",
    "Decimal": "1.00",
    "JSON": {},
}
#: What an answer may not say when its operation ran (was allowed, parsed, validated and
#: its variables accepted): whatever the resolvers then answered, it ran.
DID_NOT_RUN = {
    "PERSISTED_QUERY_NOT_ALLOWED",
    "PERSISTED_QUERY_NOT_FOUND",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "BAD_REQUEST",
    "BAD_USER_INPUT",
}


def _operations() -> list[dict[str, str]]:
    manifest = json.loads(CONSOLE_MANIFEST.read_text(encoding="utf-8"))
    assert (manifest["format"], manifest["version"]) == ("apollo-persisted-query-manifest", 1)
    operations: list[dict[str, str]] = manifest["operations"]
    return operations


OPERATIONS = _operations()


def _by_hash(digest: str, name: str | None = None, **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if name is not None:
        body["operationName"] = name
    if variables:
        body["variables"] = variables
    return body


def _sample(kind: GraphQLInputType) -> Any:
    """A value of the type: the least a client must send (required fields only)."""
    if isinstance(kind, GraphQLNonNull):
        return _sample(kind.of_type)
    if isinstance(kind, GraphQLList):
        return [_sample(kind.of_type)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: _sample(field.type)
            for name, field in kind.fields.items()
            if is_non_null_type(field.type) and field.default_value is Undefined
        }
    assert isinstance(kind, GraphQLScalarType)
    return SCALARS[kind.name]


def _variables(schema: GraphQLSchema, body: str) -> dict[str, Any]:
    operation = next(d for d in parse(body).definitions if isinstance(d, OperationDefinitionNode))
    found = {}
    for definition in operation.variable_definitions or ():
        kind = type_from_ast(schema, definition.type)
        if isinstance(kind, GraphQLNonNull) and definition.default_value is None:
            found[definition.variable.name.value] = _sample(kind)  # type: ignore[arg-type]
    return found


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def production(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The allowlist mode with no PERSISTED_QUERIES_DIR: the console's operations only."""
    only = settings.model_copy(update={"persisted_queries_only": True})
    app = create_app(only, start_workers=False)
    await app.state.runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.runtime.stop()


def test_the_manifest_holds_every_console_operation_under_its_hash() -> None:
    written = set()
    for path in sorted(WEB_OPERATIONS.glob("*.graphql")):
        for definition in parse(path.read_text(encoding="utf-8")).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                written.add(definition.name.value)
    names = [operation["name"] for operation in OPERATIONS]
    assert sorted(names) == sorted(written)  # `make web-check` fails on a stale build
    schema = build_schema()._schema
    for operation in OPERATIONS:
        assert operation["id"] == hashlib.sha256(operation["body"].encode()).hexdigest()
        assert validate(schema, parse(operation["body"])) == [], operation["name"]
        # As the console sends it: urql's document cache asks every object's __typename.
        assert "__typename" in operation["body"], operation["name"]


@SQLITE_ONLY
async def test_the_allowlist_mode_runs_every_console_operation_by_hash(
    production: httpx.AsyncClient,
) -> None:
    schema = build_schema()._schema
    for operation in OPERATIONS:
        variables = _variables(schema, operation["body"])
        answer = await production.post(
            "/graphql", json=_by_hash(operation["id"], operation["name"], **variables)
        )
        assert answer.status_code == 200, (operation["name"], answer.text)
        errors = answer.json().get("errors") or []
        codes = {(e.get("extensions") or {}).get("code") for e in errors}
        assert not codes & DID_NOT_RUN, (operation["name"], errors)
        assert not [e for e in errors if e["message"].startswith("Variable '$")], errors


@SQLITE_ONLY
async def test_the_allowlist_mode_refuses_what_the_console_does_not_send(
    production: httpx.AsyncClient,
) -> None:
    viewer = next(o for o in OPERATIONS if o["name"] == "Viewer")
    sent = await production.post("/graphql", json={"query": viewer["body"]})
    assert sent.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # it ran
    # The same operation as written in web/src (no __typename), and another query.
    written = (WEB_OPERATIONS / "account.graphql").read_text(encoding="utf-8")
    for refused in (
        {"query": written, "operationName": "Viewer"},
        {"query": "query Both { __typename }"},
        _by_hash(hashlib.sha256(written.encode()).hexdigest()),
    ):
        answer = await production.post("/graphql", json=refused)
        assert answer.status_code == 400, refused
        assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
