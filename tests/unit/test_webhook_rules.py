"""Webhook rules: URLs, internal addresses (SSRF), the retry schedule, disabling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from domain.errors import DomainError
from domain.webhooks import (
    check_target,
    is_internal_address,
    next_attempt_at,
    should_disable,
    signing_secrets,
    validate_url,
)
from resolvers.webhooks.targets import check_url

T0 = datetime(2026, 12, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "fe80::1",
        "0.0.0.0",  # noqa: S104 - an address tested, not bound
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_internal_addresses_are_refused_in_production(address: str) -> None:
    assert is_internal_address(address)
    with pytest.raises(DomainError) as refused:
        check_target([address], production=True, allow_private=False)
    assert refused.value.code == "URL_NOT_ALLOWED"
    check_target([address], production=True, allow_private=True)  # the setting allows it
    check_target([address], production=False, allow_private=False)


def test_public_addresses_pass() -> None:
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"):
        assert not is_internal_address(address)
    check_target(["93.184.215.14"], production=True, allow_private=False)
    with pytest.raises(DomainError):  # one internal address among several is enough
        check_target(["93.184.215.14", "10.0.0.1"], production=True, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://a.example/",
        "http://",
        "https://user:pw@a.example/",
        "https://a.example/#x",
        "https://a.example:99999/",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(DomainError) as refused:
        validate_url(url)
    assert refused.value.code == "INVALID_URL"


async def test_a_loopback_url_is_refused_in_production_unless_allowed() -> None:
    production = Settings(production=True, secret_key="x" * 40)
    with pytest.raises(DomainError) as refused:
        await check_url("http://localhost:8080/hooks", production)
    assert refused.value.code == "URL_NOT_ALLOWED"
    allowed = Settings(production=True, secret_key="x" * 40, webhook_allow_private_targets=True)
    assert await check_url("http://localhost:8080/hooks", allowed) == "http://localhost:8080/hooks"


def test_delays_grow_and_stop_after_the_window() -> None:
    delays = [5, 300, 1800]
    window = timedelta(days=3)
    moments = [
        next_attempt_at(
            first_attempt_at=T0, attempts=n, now=T0, delays_seconds=delays, window=window
        )
        for n in (1, 2, 3, 4)
    ]
    assert moments == [T0 + timedelta(seconds=s) for s in (5, 300, 1800, 1800)]
    late = T0 + window - timedelta(seconds=10)
    assert (
        next_attempt_at(
            first_attempt_at=T0, attempts=9, now=late, delays_seconds=delays, window=window
        )
        is None
    )


def test_disable_after_3_days_of_failures_and_overlapping_secrets() -> None:
    after = timedelta(hours=72)
    assert not should_disable(None, T0, after)
    assert not should_disable(T0, T0 + after - timedelta(seconds=1), after)
    assert should_disable(T0, T0 + after, after)
    assert signing_secrets("new", "old", T0 + timedelta(hours=24), T0) == ["new", "old"]
    assert signing_secrets("new", "old", T0, T0) == ["new"]
