"""docs/EVENTS.md stays true: its JSON Schema accepts real events and refuses broken ones."""

from __future__ import annotations

import json
import re

import jsonschema_rs

from tests.conftest import REPO
from tests.test_event import sample


def events_schema() -> dict[str, object]:
    text = (REPO / "docs" / "EVENTS.md").read_text()
    block = re.search(r"## JSON Schema.*?```json\n(.*?)```", text, re.S)
    assert block, "EVENTS.md lost its JSON Schema"
    schema: dict[str, object] = json.loads(block.group(1))
    return schema


def test_schema_accepts_the_writer_output() -> None:
    validator = jsonschema_rs.validator_for(events_schema())
    for changes in ({}, {"side": "short", "exchange": "okx", "product": "okx-futures"}):
        assert validator.is_valid(sample(**changes).to_fields())


def test_schema_refuses_broken_entries() -> None:
    validator = jsonschema_rs.validator_for(events_schema())
    good = sample().to_fields()
    for broken in ({**good, "side": "buy"}, {**good, "usd": "1.5"}, {**good, "v": "2"}):
        assert not validator.is_valid(broken)
    assert not validator.is_valid({k: v for k, v in good.items() if k != "id"})
