"""Summarize a py-spy raw (collapsed stacks) profile: where a server's CPU goes.

    .venv/bin/python bench/_profile_summary.py FILE

Self time is charged to the package of the innermost frame (graphql-core, Strawberry,
SQLAlchemy, asyncpg, logging, asyncio, ...); inclusive time is shown for a few stages
that span packages (validation, logging a traceback, authentication, JSON encoding).
"""

from __future__ import annotations

import re
import sys
from collections import Counter

SELF = [
    ("graphql-core", ("graphql/",)),
    ("strawberry", ("strawberry/",)),
    ("sqlalchemy", ("sqlalchemy/",)),
    ("asyncpg", ("asyncpg/",)),
    ("logging/traceback", ("logging/", "traceback.py", "linecache.py")),
    ("asyncio", ("asyncio/", "uvloop/")),
    ("json", ("json/", "orjson")),
    ("http (uvicorn/starlette)", ("uvicorn/", "starlette/", "httptools/", "h11/")),
    ("app code", ("schema/", "resolvers/", "domain/", "db/", "app/", "config/")),
    ("typing/dataclasses/enum", ("typing.py", "enum.py", "dataclasses.py", "<string>")),
]
FILE = re.compile(r"\((?P<file>[^()]*?)(?::\d+)?\)$")
INCLUSIVE = [
    ("validation (graphql validate)", re.compile(r"\(graphql/validation/")),
    ("parsing", re.compile(r"\(graphql/language/parser")),
    ("logging a traceback", re.compile(r"\(logging/|\(traceback\.py")),
    ("authentication", re.compile(r"^authenticate |;authenticate ")),
    ("SQL (sqlalchemy + asyncpg)", re.compile(r"\(sqlalchemy/|\(asyncpg/")),
    ("JSON encoding", re.compile(r"\(json/|orjson|encode_json")),
    ("garbage collection", re.compile(r"<gc>|gc_collect")),
]


def category(frame: str) -> str:
    found = FILE.search(frame)
    file = found.group("file") if found else frame
    for name, prefixes in SELF:
        if file.startswith(prefixes) or any(p in file for p in prefixes if "/" not in p):
            return name
    return "other"


def frames(stack: str) -> list[str]:
    return stack.split(";")


def summarize(path: str) -> str:
    by_self: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(path) as lines:
        for line in lines:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            total += count
            leaf = frames(stack)[-1]
            by_self[category(leaf)] += count
            for name, pattern in INCLUSIVE:
                if pattern.search(stack):
                    inclusive[name] += count
    out = [f"{total} samples", "self time by package:"]
    out += [f"  {name:<28}{n / total:>7.1%}" for name, n in by_self.most_common()]
    out.append("inclusive:")
    out += [f"  {name:<28}{inclusive[name] / total:>7.1%}" for name, _ in INCLUSIVE]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarize(sys.argv[1]))
