"""Each limit trips, answers THROTTLED with a retry-after, and recovers when its window
passes (the test moves the service clock; nothing sleeps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from resolvers.context import RequestContext, Services
from resolvers.throttling import Limit, Throttled, Throttler, throttle
from tests.conftest import RedisSpace
from tests.edge.conftest import Edge, edge_settings, open_edge

LOGIN = "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }"


async def wrong_login(edge: Edge, email: str = "rep@partner.example") -> dict:
    response = await edge.gql(LOGIN, {"i": {"email": email, "password": "wrong-password"}})
    return {"status": response.status_code, **response.json()}


async def test_wrong_logins_trip_the_account_limit_then_recover(edge: Edge) -> None:
    for _ in range(5):
        answer = await wrong_login(edge)
        assert answer["data"]["login"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
    refused = await wrong_login(edge)
    assert refused["status"] == 429
    assert refused["data"] is None
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "THROTTLED"
    retry = error["extensions"]["retryAfterSeconds"]
    assert 1 <= retry <= 60
    # Even the right password is refused while the account is throttled.
    right = await edge.gql(
        LOGIN, {"i": {"email": "rep@partner.example", "password": "partnergraph-demo"}}
    )
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) == retry
    edge.clock.advance(retry)
    recovered = await edge.gql(
        LOGIN, {"i": {"email": "rep@partner.example", "password": "partnergraph-demo"}}
    )
    assert recovered.status_code == 200
    assert recovered.json()["data"]["login"]["token"]


async def test_the_ip_limit_covers_many_accounts(edge: Edge) -> None:
    # 20 per minute from one address, whatever the emails tried.
    for n in range(20):
        answer = await wrong_login(edge, f"nobody{n}@example.com")
        assert answer["status"] == 200
    refused = await wrong_login(edge, "someone-else@example.com")
    assert refused["status"] == 429
    assert refused["errors"][0]["extensions"]["code"] == "THROTTLED"


async def test_client_ip_from_a_trusted_proxy_header(tmp_path: Path) -> None:
    settings = edge_settings(tmp_path, client_ip_header="x-forwarded-for")
    async with open_edge(settings) as edge:
        for n in range(20):
            response = await edge.post(
                {"query": LOGIN, "variables": {"i": {"email": f"a{n}@x.example", "password": "p"}}},
                headers={"x-forwarded-for": "198.51.100.1, 192.0.2.9"},
            )
            assert response.status_code == 200
        # Another client behind the same proxy is not throttled; the forged left part of
        # the header is not trusted (the proxy's own entry is).
        other = await edge.post(
            {"query": LOGIN, "variables": {"i": {"email": "b@x.example", "password": "p"}}},
            headers={"x-forwarded-for": "198.51.100.1, 192.0.2.10"},
        )
        assert other.status_code == 200
        same = await edge.post(
            {"query": LOGIN, "variables": {"i": {"email": "c@x.example", "password": "p"}}},
            headers={"x-forwarded-for": "192.0.2.9"},
        )
        assert same.status_code == 429


async def test_sign_up_is_throttled_per_address(edge: Edge) -> None:
    query = "mutation($i: SignUpInput!) { signUp(input: $i) { email userErrors { code } } }"
    codes = []
    for n in range(11):
        response = await edge.gql(
            query,
            {
                "i": {
                    "email": f"new{n}@shop.example",
                    "password": "a-long-password",
                    "fullName": "New Person",
                    "organizationName": f"Shop {n}",
                    "currency": "CHF",
                }
            },
        )
        codes.append(response.status_code)
    assert codes == [200] * 10 + [429]
    edge.clock.advance(3600)
    response = await edge.gql(
        query,
        {
            "i": {
                "email": "later@shop.example",
                "password": "a-long-password",
                "fullName": "Later",
                "organizationName": "Later shop",
                "currency": "CHF",
            }
        },
    )
    assert response.status_code == 200
    assert response.json()["data"]["signUp"]["email"] == "later@shop.example"


@pytest.mark.redis
async def test_counts_are_shared_through_redis(tmp_path: Path, redis_space: RedisSpace) -> None:
    settings = Settings(
        redis_url=redis_space.url,
        redis_namespace=redis_space.namespace,
        throttle_password_account="2/minute",
    )
    # Two API processes: two throttlers on one Redis.
    first, second = Throttler.from_settings(settings), Throttler.from_settings(settings)
    contexts = [
        RequestContext(
            services=Services(settings=settings, sessionmaker=None, _throttler=throttler),  # type: ignore[arg-type]
        )
        for throttler in (first, second)
    ]
    await throttle(contexts[0], Limit.PASSWORD, account="a@x.example")
    await throttle(contexts[1], Limit.PASSWORD, account="a@x.example")
    with pytest.raises(Throttled) as refused:
        await throttle(contexts[0], Limit.PASSWORD, account="a@x.example")
    assert 1 <= refused.value.retry_after_seconds <= 60
    keys = redis_space.keys()
    assert keys
    assert all(key.startswith(redis_space.namespace.encode()) for key in keys)
    assert not any(b"a@x.example" in key for key in keys)
