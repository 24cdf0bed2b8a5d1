"""schema.meta_only.operation_kind: what the app authenticates for, and on which session."""

from __future__ import annotations

import pytest

from schema.meta_only import META, operation_kind

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("query", "name", "kind"),
    [
        ("{ __typename }", None, META),
        ("query { __schema { types { name } } __typename }", None, META),
        ("{ ... on Query { __typename } }", None, META),
        ("{ viewer { user { email } } }", None, "query"),
        ("query Q { __typename ...F } fragment F on Query { viewer { id } }", None, "query"),
        ("mutation { logout { userErrors { code } } }", None, "mutation"),
        ("subscription { grantChanged { id } }", None, "subscription"),
        ("query A { __typename } mutation B { logout { ok } }", "B", "mutation"),
        ("query A { __typename } mutation B { logout { ok } }", "A", META),
        ("query A { __typename } mutation B { logout { ok } }", None, None),
        ("query A { __typename }", "C", None),
        ("{ viewer ", None, None),
        (None, None, None),
        ("", None, None),
    ],
)
def test_operation_kind(query: str | None, name: str | None, kind: str | None) -> None:
    assert operation_kind(query, name) == kind
