"""Fuzz the GraphQL API at length: 10,000 generated operations (``--count``) against the
ASGI app with a logged-in partner's token; prints the statuses and error codes seen and
fails on any HTTP 5xx or INTERNAL_SERVER_ERROR. CI runs 1,000 (tests/edge/test_fuzzing.py).

    .venv/bin/python bench/fuzz_api.py [--count N]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.edge.fuzzing import fuzz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="operations to send")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the app logs each unexpected error; we count them
    started = time.monotonic()
    report = fuzz(args.count)
    seconds = time.monotonic() - started
    print(f"operations: {report.operations} in {seconds:.0f} s")
    print("statuses:", dict(sorted(report.statuses.items())))
    print("error codes:", dict(report.codes.most_common()))
    print(f"HTTP 5xx: {report.server_errors}, INTERNAL_SERVER_ERROR: {report.internal_errors}")
    for query, status, detail in report.failures[:10]:
        print(f"--- {status}: {detail}\n{query}")
    return 1 if report.failures or report.server_errors or report.internal_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
