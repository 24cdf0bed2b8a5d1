"""The CI check against the previous schema: a removed field fails unless acknowledged;
a deprecation alone passes."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

OLD = '''
type Query {
  """A shop."""
  shop: Shop
}
type Shop { name: String! legacyName: String }
'''
DEPRECATED = OLD.replace(
    "legacyName: String", 'legacyName: String @deprecated(reason: "Use name.")'
)
REMOVED = OLD.replace("legacyName: String", "")


def _compat() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "schema_compat", ROOT / ".ci" / "schema_compat.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "schema.graphql").write_text(OLD)
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "schema")
    return tmp_path


def test_a_removed_field_fails_the_check(repo: Path) -> None:
    compat = _compat()
    (repo / "schema.graphql").write_text(REMOVED)
    assert compat.main(["--root", str(repo)]) == 1
    changes, missing = compat.check(repo, "HEAD")
    assert missing == changes == ["Field Shop.legacyName was removed."]


def test_an_acknowledged_removal_passes_and_the_acknowledgement_must_be_new(repo: Path) -> None:
    compat = _compat()
    notes = repo / "schema-breaking-changes.md"
    notes.write_text("# Breaking changes\n- Field Shop.legacyName was removed. (unused)\n")
    (repo / "schema.graphql").write_text(REMOVED)
    assert compat.main(["--root", str(repo)]) == 0
    # An old acknowledgement does not cover a new break: commit it, break again.
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "removed, acknowledged")
    (repo / "schema.graphql").write_text(OLD)
    _git(repo, "commit", "-qam", "back")
    (repo / "schema.graphql").write_text(REMOVED)
    assert compat.check(repo, "HEAD")[1] == ["Field Shop.legacyName was removed."]


def test_a_deprecation_is_not_breaking(repo: Path) -> None:
    compat = _compat()
    (repo / "schema.graphql").write_text(DEPRECATED)
    assert compat.main(["--root", str(repo)]) == 0


def test_the_base_is_where_a_branch_forked_from_main(repo: Path) -> None:
    compat = _compat()
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "schema.graphql").write_text(DEPRECATED)
    _git(repo, "commit", "-qam", "deprecate")
    (repo / "schema.graphql").write_text(REMOVED)
    _git(repo, "commit", "-qam", "remove")
    main_tip = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert compat.default_base(repo) == main_tip
    assert compat.main(["--root", str(repo)]) == 1
