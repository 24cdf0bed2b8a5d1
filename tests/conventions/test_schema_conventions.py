"""The schema's conventions, measured on the schema the code serves: every list of objects
that can grow is a connection (with totalCount and both paging directions); deprecated
members say what replaces them."""

from __future__ import annotations

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

from schema.root import build_schema

#: Lists of objects that stay short whatever happens, and why.
BOUNDED_LISTS = {
    "Query.nodes": "at most 100 IDs asked",
    "Invoice.lines": "fixed when the invoice is issued (the order's lines)",
    "PartnerApplication.refusalReasons": "one per eligibility condition",
    "Viewer.memberships": "the organizations one person belongs to",
    "CollaboratorRights.clients": "the clients named in one collaborator's rights",
    "Catalog.products": "the catalog's product kinds: configuration",
    "Catalog.families": "the catalog's product families: configuration",
    "CatalogFamily.quantityTiers": "a family's few quantity tiers",
    "CatalogProduct.listPrices": "one per currency sold in",
    "Order.lines": "1 to 50 (domain.baskets.MAX_LINES), fixed when the order is placed",
    "Quote.lines": "1 to 50 (domain.baskets.MAX_LINES), as the caller asked",
}


def _schema() -> GraphQLSchema:
    return build_schema()._schema


def _unwrap(gql_type: object) -> object:
    while isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    return gql_type


def _object_lists(schema: GraphQLSchema) -> set[str]:
    found = set()
    for name, gql_type in schema.type_map.items():
        if name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
            continue
        if name.endswith("Connection"):  # its edges are the page
            continue
        for field_name, field in gql_type.fields.items():
            if field_name == "userErrors":  # what one mutation broke
                continue
            inner = _unwrap(field.type)
            if field.deprecation_reason is None and isinstance(inner, GraphQLList):
                item = get_named_type(inner)
                if isinstance(item, GraphQLObjectType) or item.name == "Node":
                    found.add(f"{name}.{field_name}")
    return found


def test_no_list_that_grows_is_a_plain_list() -> None:
    lists = _object_lists(_schema())
    assert lists - set(BOUNDED_LISTS) == set(), "make these connections"
    assert set(BOUNDED_LISTS) <= lists, "a bounded list left the schema: update BOUNDED_LISTS"


def test_every_connection_counts_and_pages_both_ways() -> None:
    schema = _schema()
    connections = 0
    for name, gql_type in schema.type_map.items():
        if not isinstance(gql_type, GraphQLObjectType):
            continue
        for field_name, field in gql_type.fields.items():
            target = get_named_type(field.type)
            if not target.name.endswith("Connection"):
                continue
            connections += 1
            assert {"first", "after", "last", "before"} <= set(field.args), f"{name}.{field_name}"
            assert "totalCount" in target.fields, target.name  # type: ignore[attr-defined]
    assert connections >= 24


def test_every_deprecation_names_its_replacement() -> None:
    schema = _schema()
    deprecated = [
        (f"{name}.{field_name}", field.deprecation_reason)
        for name, gql_type in schema.type_map.items()
        if isinstance(gql_type, GraphQLObjectType)
        for field_name, field in gql_type.fields.items()
        if field.deprecation_reason
    ]
    assert deprecated
    assert all(reason.startswith("Use ") for _, reason in deprecated), deprecated
