"""tests/fixtures/exchanges agrees with its own index: every fixture a test may read is
listed in README.md (with its origin) and is valid JSON, every file README lists is there,
and every fixture expected.json gives events for exists. A venue that adds fixtures adds
their README lines and expected events with them."""

from __future__ import annotations

import json
import re

from tests.conftest import FIXTURES

_SECTION = re.compile(r"^## ([\w-]+)/\s*$", re.MULTILINE)
_NAME = re.compile(r"`([\w.-]+\.json)`")


def readme_index() -> dict[str, set[str]]:
    """README section `## <dir>/` -> the fixture file names it lists."""
    parts = _SECTION.split((FIXTURES / "README.md").read_text())
    return {
        parts[i]: set(_NAME.findall(parts[i + 1])) - {"expected.json"}
        for i in range(1, len(parts), 2)
    }


def fixture_files() -> dict[str, set[str]]:
    return {
        d.name: {f.name for f in d.iterdir() if f.is_file()}
        for d in FIXTURES.iterdir()
        if d.is_dir()
    }


def test_every_fixture_is_indexed_and_every_indexed_file_exists() -> None:
    index, files = readme_index(), fixture_files()
    assert {"binance", "okx", "bybit"} <= files.keys()
    assert sorted(index) == sorted(files), "one README section per fixture folder"
    for folder, names in files.items():
        assert names - index[folder] == set(), f"{folder}/: files README does not list"
        assert index[folder] - names == set(), f"{folder}/: README lists missing files"


def test_every_fixture_is_json_and_every_expected_event_has_its_fixture() -> None:
    for folder, names in fixture_files().items():
        for name in names:
            json.loads((FIXTURES / folder / name).read_text())  # raises on a broken copy
    expected = json.loads((FIXTURES / "expected.json").read_text())["events"]
    assert len(expected) > 20
    missing = [path for path in expected if not (FIXTURES / path).is_file()]
    assert missing == []
    assert all(isinstance(events, list) for events in expected.values())
