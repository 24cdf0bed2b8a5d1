"""One closed set of error codes: every code the code base raises is an `ErrorCode` member,
every member is described (in Python and in the schema), and the API answers members only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from domain.error_codes import ERROR_CODE_DESCRIPTIONS, ErrorCode
from domain.errors import DomainError
from schema.root import build_schema

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "db", "domain", "resolvers", "schema", "workers")
CODE_LIKE = re.compile(r"^[A-Z][A-Z0-9_]+$")


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if CODE_LIKE.match(node.value) else None
    return None


def _raised_codes() -> dict[str, str]:
    """Every code-like literal in a code position: the first argument of an `...Error(`
    call, a `code=` argument, a `"code":` key's value, or a `CODE` constant."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                candidates: list[ast.AST | None] = []
                if isinstance(node, ast.Call):
                    func = node.func
                    name = getattr(func, "id", None) or getattr(func, "attr", "")
                    if name.endswith(("Error", "Errors")) and node.args:
                        candidates.append(node.args[0])
                    candidates += [kw.value for kw in node.keywords if kw.arg == "code"]
                elif isinstance(node, ast.Dict):
                    candidates += [
                        v
                        for k, v in zip(node.keys, node.values, strict=True)
                        if isinstance(k, ast.Constant) and k.value == "code"
                    ]
                elif isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Name) and t.id == "CODE" for t in targets):
                        candidates.append(node.value)
                for candidate in candidates:
                    code = _literal(candidate)
                    if code is not None:
                        where = f"{path.relative_to(ROOT)}:{getattr(candidate, 'lineno', 0)}"
                        found.setdefault(code, where)
    return found


def test_the_scan_finds_the_codes_raised() -> None:
    # The scan itself must see codes, or the next test would pass on nothing.
    codes = _raised_codes()
    assert {"FORBIDDEN", "INVALID_CURSOR", "UNAUTHENTICATED", "TOO_LONG"} <= set(codes)
    assert len(codes) > 40


def test_every_code_raised_is_a_member() -> None:
    unknown = {c: w for c, w in _raised_codes().items() if c not in ErrorCode.__members__}
    assert unknown == {}, f"add these to domain/error_codes.py: {unknown}"


def test_every_member_is_described() -> None:
    assert set(ERROR_CODE_DESCRIPTIONS) == set(ErrorCode)
    assert all(len(text) > 10 and text.endswith(".") for text in ERROR_CODE_DESCRIPTIONS.values())
    assert all(member.name == member.value for member in ErrorCode)


def test_the_schema_has_one_described_error_code_enum() -> None:
    schema = build_schema()._schema
    enum = schema.type_map["ErrorCode"]
    assert set(enum.values) == {m.value for m in ErrorCode}  # type: ignore[attr-defined]
    assert all(v.description for v in enum.values.values())  # type: ignore[attr-defined]
    user_error = schema.type_map["UserError"]
    assert str(user_error.fields["code"].type) == "ErrorCode!"  # type: ignore[attr-defined]
    assert str(user_error.fields["field"].type) == "[String!]"  # type: ignore[attr-defined]


def test_an_unknown_code_cannot_be_raised() -> None:
    with pytest.raises(ValueError, match="NO_SUCH_CODE"):
        DomainError("NO_SUCH_CODE", "whatever")
    assert DomainError("NOT_FOUND", "x").code is ErrorCode.NOT_FOUND
