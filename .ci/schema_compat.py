#!/usr/bin/env python3
"""Fail on a breaking change to schema.graphql that the change does not acknowledge.

    .ci/schema_compat.py [--base REF]

Compares the working tree's `schema.graphql` with its version at the base commit, using
graphql-core's `find_breaking_changes`. The base is, by default, the previous commit of
main: on a branch, where it forked from main (`git merge-base HEAD main`); on main itself,
`HEAD` while the files are changed but not committed, else `HEAD^`. A breaking change
passes only when `schema-breaking-changes.md` gained (since the base) a line quoting it,
e.g. `- Field UserError.code changed type from String! to ErrorCode!.`
A field or enum value leaves the schema only after a release with `@deprecated(reason:)`
(README, "Deprecation policy"); this check is what keeps that promise honest.

Exit 0: nothing breaking, or everything acknowledged (or no base to compare with);
exit 1: unacknowledged breaking changes (listed); exit 2: usage error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from graphql import build_schema, find_breaking_changes

SCHEMA = "schema.graphql"
ACKNOWLEDGEMENTS = "schema-breaking-changes.md"


def _git(root: Path, *args: str) -> str | None:
    done = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "-C", str(root), *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else None


def default_base(root: Path) -> str | None:
    head = (_git(root, "rev-parse", "HEAD") or "").strip()
    main = (_git(root, "rev-parse", "--verify", "--quiet", "main") or "").strip()
    if not head:
        return None
    if main and main != head:
        fork = (_git(root, "merge-base", "HEAD", "main") or "").strip()
        if fork and fork != head:
            return fork
    # On main: the change is what is not committed yet, else the last commit.
    if _git(root, "diff", "--quiet", "HEAD", "--", SCHEMA, ACKNOWLEDGEMENTS) is None:
        return head
    parent = (_git(root, "rev-parse", "--verify", "--quiet", "HEAD^") or "").strip()
    return parent or None


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    """Each breaking change from `old_sdl` to `new_sdl`, as graphql-core describes it."""
    changes = find_breaking_changes(build_schema(old_sdl), build_schema(new_sdl))
    return sorted(change.description for change in changes)


def unacknowledged(changes: Iterable[str], old_notes: str, new_notes: str) -> list[str]:
    """The changes that no line added to the acknowledgements quotes."""
    before = set(old_notes.splitlines())
    added = [line for line in new_notes.splitlines() if line not in before]
    return [change for change in changes if not any(change in line for line in added)]


def check(root: Path, base: str | None) -> tuple[list[str], list[str]]:
    """(breaking changes, the unacknowledged ones) of the working tree against `base`."""
    if base is None:
        return [], []
    old_sdl = _git(root, "show", f"{base}:{SCHEMA}")
    if old_sdl is None:
        return [], []
    new_sdl = (root / SCHEMA).read_text()
    changes = breaking_changes(old_sdl, new_sdl)
    old_notes = _git(root, "show", f"{base}:{ACKNOWLEDGEMENTS}") or ""
    notes_path = root / ACKNOWLEDGEMENTS
    new_notes = notes_path.read_text() if notes_path.exists() else ""
    return changes, unacknowledged(changes, old_notes, new_notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git commit to compare with (default: see above)")
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    args = parser.parse_args(argv)
    base = args.base or default_base(args.root)
    if base is None:
        print("schema check: no previous commit to compare with")
        return 0
    changes, missing = check(args.root, base)
    short = base[:12]
    if not missing:
        print(f"schema check: {len(changes)} breaking change(s) since {short}, all acknowledged")
        return 0
    print(f"schema check: breaking changes since {short} not acknowledged in {ACKNOWLEDGEMENTS}:")
    for change in missing:
        print(f"  - {change}")
    print(f"Deprecate instead (README, 'Deprecation policy') or quote each in {ACKNOWLEDGEMENTS}.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
