"""Fuzzing the GraphQL API with hypothesis-graphql: generated queries and mutations, sent
over HTTP to the ASGI app (SQLite, the demo world) with a logged-in partner's token.

Every answer must be a 2xx/4xx with a JSON body, and no error may be
INTERNAL_SERVER_ERROR. Used by tests/edge/test_fuzzing.py (CI, 1,000 operations) and by
bench/fuzz_api.py (10,000 or more, `make fuzz`).
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import graphql
import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from tests.edge.conftest import Edge, edge_settings, open_edge

# Mutations that would end the fuzzer's own session (the rest run as generated).
SKIPPED_MUTATIONS = {"logout", "endSession"}
NO_LIMITS: dict[str, Any] = {
    **{
        f"throttle_{kind}_{dim}": ""
        for kind in ("password", "sign_up", "email", "emailed_token")
        for dim in ("account", "ip", "token")
    },
    "cost_bucket_size": 10**9,
    "cost_restore_rate": 10**9,
    # Small pages: a generated query reads a few rows, not a hundred per connection.
    "max_page_size": 5,
}

_TEXT = st.text(max_size=40)


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"


SCALARS = {
    "DateTime": st.one_of(st.datetimes().map(_iso), _TEXT, st.just("9999-99-99")).map(nodes.String),
    "Decimal": st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["1E+30", "-0", "1e-9999", "9" * 60, "0.001", "NaN"]),
        _TEXT,
    ).map(nodes.String),
    "JSON": st.one_of(_TEXT.map(nodes.String), st.integers().map(nodes.Int)),
}


@dataclass
class FuzzReport:
    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def internal_errors(self) -> int:
        return self.codes["INTERNAL_SERVER_ERROR"]


def operations(schema: graphql.GraphQLSchema) -> st.SearchStrategy[str]:
    """One root field per operation, every root query and mutation field alike (small
    documents: generated and answered fast, and every field gets its turn)."""
    assert schema.mutation_type is not None
    fields = [("query", name) for name in schema.query_type.fields] + [
        ("mutation", name) for name in schema.mutation_type.fields if name not in SKIPPED_MUTATIONS
    ]

    # One strategy per root field, built once: hypothesis-graphql's own cache misses on the
    # list and dict arguments, and building one anew for each example cost a sixth of the run.
    @functools.cache
    def one(choice: tuple[str, str]) -> st.SearchStrategy[str]:
        kind, name = choice
        make = queries if kind == "query" else mutations
        return make(schema, fields=[name], custom_scalars=SCALARS)

    return st.sampled_from(fields).flatmap(one)


async def _send(edge: Edge, token: str, query: str, report: FuzzReport) -> None:
    response: httpx.Response = await edge.gql(query, token=token)
    report.operations += 1
    report.statuses[response.status_code] += 1
    try:
        body = response.json()
    except ValueError:
        report.failures.append((query, response.status_code, response.text[:500]))
        return
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code") or "-"
        report.codes[code] += 1
        if code == "INTERNAL_SERVER_ERROR":
            report.failures.append((query, response.status_code, str(error)[:500]))
    if response.status_code >= 500 and not body.get("errors"):
        report.failures.append((query, response.status_code, response.text[:500]))


def fuzz(count: int, workdir: Path | None = None) -> FuzzReport:
    """Send `count` generated operations; the report counts statuses and error codes."""
    report = FuzzReport()
    base = workdir or Path(tempfile.mkdtemp(prefix="fuzz-"))
    with asyncio.Runner() as runner:
        opened = open_edge(edge_settings(base, **NO_LIMITS))
        edge = runner.run(opened.__aenter__())
        try:
            token = runner.run(edge.login("rep@partner.example"))
            from schema.root import build_schema

            schema = build_schema()._schema

            @settings(
                max_examples=count,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(operations(schema))
            def run(query: str) -> None:
                runner.run(_send(edge, token, query, report))

            run()
        finally:
            runner.run(opened.__aexit__(None, None, None))
    return report
