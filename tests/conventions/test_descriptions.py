"""Every type, field, argument and enum value of the served schema is described: 100 %."""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from schema.root import build_schema


def _coverage(schema: GraphQLSchema) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {"types": [], "fields": [], "arguments": [], "values": []}
    totals = dict.fromkeys(missing, 0)
    for name, gql_type in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        totals["types"] += 1
        if not gql_type.description:
            missing["types"].append(name)
        if isinstance(gql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in gql_type.fields.items():
                totals["fields"] += 1
                if not field.description:
                    missing["fields"].append(f"{name}.{field_name}")
                for arg_name, arg in field.args.items():
                    totals["arguments"] += 1
                    if not arg.description:
                        missing["arguments"].append(f"{name}.{field_name}({arg_name})")
        elif isinstance(gql_type, GraphQLInputObjectType):
            for field_name, field in gql_type.fields.items():
                totals["fields"] += 1
                if not field.description:
                    missing["fields"].append(f"{name}.{field_name}")
        elif isinstance(gql_type, GraphQLEnumType):
            for value_name, value in gql_type.values.items():
                totals["values"] += 1
                if not value.description:
                    missing["values"].append(f"{name}.{value_name}")
    assert all(totals.values()), totals  # the measure measured something
    return missing


def test_everything_in_the_schema_is_described() -> None:
    assert _coverage(build_schema()._schema) == {
        "types": [],
        "fields": [],
        "arguments": [],
        "values": [],
    }


def test_the_measure_sees_an_undescribed_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = build_schema()._schema  # the process's one schema: restored after the test
    node_id = schema.query_type.fields["node"].args["id"]  # type: ignore[union-attr]
    monkeypatch.setattr(node_id, "description", None)
    assert _coverage(schema)["arguments"] == ["Query.node(id)"]
