"""The production-like stack (no Docker engine here: the files are read and checked): pinned
images, the API's healthcheck on /readyz, a liveness check for the worker, `docker compose
up` from the repository root; and the healthcheck command itself."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.processes import PARTNERGRAPH, ROOT

COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
PINNED = re.compile(r"^[\w./-]+:v?\d+\.\d+(\.\d+)?([-\w.]*)?$")


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def test_every_image_is_pinned_to_a_version() -> None:
    services = compose()["services"]
    images = {name: spec.get("image") for name, spec in services.items()}
    assert {"postgres", "redis", "mailpit", "api", "worker", "scheduler", "migrate"} <= set(images)
    for name in ("postgres", "redis", "mailpit"):
        assert PINNED.match(images[name]), (name, images[name])
    (python_image,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert PINNED.match(python_image), python_image
    assert "latest" not in " ".join(str(i) for i in images.values())


def test_api_is_healthy_only_when_ready_and_the_worker_has_a_liveness_check() -> None:
    services = compose()["services"]
    api_check = services["api"]["healthcheck"]["test"]
    assert api_check[:3] == ["CMD", "partnergraph", "healthcheck"]
    assert api_check[-1].endswith("/readyz")
    assert "/readyz" in DOCKERFILE.read_text().split("HEALTHCHECK", 1)[1].split("\n\n")[0]
    assert "/healthz" not in DOCKERFILE.read_text().split("HEALTHCHECK", 1)[1]

    beats = set()
    for name in ("worker", "scheduler"):
        test = services[name]["healthcheck"]["test"]
        heartbeat = test[test.index("--heartbeat") + 1]
        assert services[name]["environment"]["PARTNERGRAPH_HEARTBEAT_FILE"] == heartbeat
        assert services[name]["environment"]["PARTNERGRAPH_PRODUCTION"] == "true"
        beats.add(heartbeat)
    assert len(beats) == 2
    assert services["migrate"]["healthcheck"] == {"disable": True}
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_docker_compose_up_from_the_repository_root() -> None:
    root = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert root["include"] == ["docker/compose.yaml"]
    assert compose()["x-partnergraph"]["build"]["context"] == ".."
    assert "docker compose up --build" in (ROOT / "README.md").read_text()


def healthcheck(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
    return subprocess.run(
        [str(PARTNERGRAPH), "healthcheck", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_worker_liveness_check_reads_the_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "alive"
    missing = healthcheck("--heartbeat", str(beat))
    assert missing.returncode == 1
    assert "never written" in missing.stderr
    beat.touch()
    assert healthcheck("--heartbeat", str(beat)).returncode == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    stale = healthcheck("--heartbeat", str(beat), "--max-age", "60")
    assert stale.returncode == 1
    assert re.search(r"last written 1[2-9]\d s ago", stale.stderr), stale.stderr


def test_the_api_check_fails_when_nothing_answers() -> None:
    result = healthcheck("--url", "http://127.0.0.1:1/readyz", "--timeout", "1")
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy: http://127.0.0.1:1/readyz")
