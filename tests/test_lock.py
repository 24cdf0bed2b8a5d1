"""The lock files (requirements/*.lock, what `make install`, CI and the Docker image
install) pin a version of every dependency that pyproject.toml asks for, within its floor."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(";")[0].strip().split("==")
            found[canonicalize_name(name)] = version
    return found


def requirements(*extras: str) -> list[Requirement]:
    wanted = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        for text in PROJECT["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == "partnergraph":
                wanted += requirements(*requirement.extras)
            else:
                wanted.append(requirement)
    return wanted


@pytest.mark.parametrize(("lock", "extras"), [("run.lock", ()), ("dev.lock", ("dev",))])
def test_the_lock_pins_every_dependency_within_its_floor(lock: str, extras: tuple[str]) -> None:
    pinned = pins(lock)
    for requirement in requirements(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} lacks {name}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]} outside {requirement.specifier}: `make lock`"
        )


def test_no_vulnerable_strawberry_can_be_installed() -> None:
    [strawberry] = [r for r in requirements() if r.name == "strawberry-graphql"]
    for vulnerable in ("0.312.2", "0.315.6", "0.323.0", "0.330.0"):
        assert not strawberry.specifier.contains(vulnerable)
