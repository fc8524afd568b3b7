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


def tracked_text_files() -> list[str]:
    """The repository's own text files (what a clone contains), vendored code aside."""
    skip = (".png", ".svg", ".lock", "package-lock.json")
    out = []
    for path in REPO.rglob("*"):
        rel = path.relative_to(REPO).as_posix()
        if (
            any(
                part.startswith(".") or part in ("node_modules", "vendor", "var")
                for part in path.relative_to(REPO).parts
            )
            or "egg-info" in rel
        ):
            continue  # fmt: skip
        if path.is_file() and not rel.endswith(skip):
            out.append(rel)
    return out


def test_the_repository_cites_only_itself() -> None:
    """A clone must be self-contained: no reference material outside it, no issue numbers."""
    # (spelled in pieces so this file does not cite them itself)
    outside = re.compile("|".join((r"\.\./shared", "/work/" "shared", "wire-" "formats",
                                   "shared/" "notes", r"issue #?\d+")), re.I)  # fmt: skip
    cited = [
        f"{rel}: {m.group(0)}"
        for rel in tracked_text_files()
        for m in outside.finditer((REPO / rel).read_text(errors="replace"))
    ]
    assert cited == []


def test_every_collector_has_its_venue_page_and_row() -> None:
    table = (REPO / "docs" / "VENUES.md").read_text()
    venues = sorted(
        p.name.removeprefix("collector-") for p in (REPO / "services").glob("collector-*")
    )
    assert len(venues) >= 3
    for venue in venues:
        assert (REPO / "docs" / "venues" / f"{venue}.md").is_file(), venue
        assert re.search(rf"^\| \[{venue}\]\(venues/{venue}\.md\) \|", table, re.M), venue
