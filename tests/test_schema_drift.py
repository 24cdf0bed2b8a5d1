"""The committed schema.graphql is the schema the code serves."""

from __future__ import annotations

import difflib
from pathlib import Path

from schema.root import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
FIX = "Run `partnergraph export-schema > schema.graphql` and commit the file."


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.is_file(), f"{SCHEMA_FILE} is missing. {FIX}"
    committed = SCHEMA_FILE.read_text(encoding="utf-8").rstrip("\n")
    current = build_schema().as_str().rstrip("\n")
    if committed != current:
        diff = "\n".join(
            difflib.unified_diff(
                committed.splitlines(),
                current.splitlines(),
                "schema.graphql (committed)",
                "build_schema() (code)",
                lineterm="",
                n=1,
            )
        )
        lines = diff.splitlines()
        shown = "\n".join(lines[:80]) + (
            f"\n... {len(lines) - 80} more lines" if len(lines) > 80 else ""
        )
        raise AssertionError(f"schema.graphql differs from the code. {FIX}\n{shown}")
