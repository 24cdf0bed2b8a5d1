"""The README's GraphQL examples are valid against the schema the code serves, and use no
deprecated field, argument, input field or enum value: a new user copies them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import DocumentNode, NoDeprecatedCustomRule, parse, specified_rules, validate

from schema.root import build_schema

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_a_readme_example_is_valid_and_current(example: str) -> None:
    schema = build_schema()._schema
    # A block may show several steps, one operation each (comments show the answers).
    for operation in parse(example).definitions:
        document = DocumentNode(definitions=(operation,))
        errors = validate(schema, document, [*specified_rules, NoDeprecatedCustomRule])
        assert errors == [], [e.message for e in errors]
