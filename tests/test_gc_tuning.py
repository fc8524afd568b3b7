"""Every `liqmon run <service>` process runs with the cyclic GC tuned (`runtime.tune_gc`)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from liqmon import runtime


def test_tune_gc_freezes_start_up_objects_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    try:
        runtime.tune_gc()
        assert gc.get_threshold() == runtime.GC_THRESHOLDS
        assert gc.get_threshold()[0] > before[0]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _Quick:
    name = "quick"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    async def startup(self) -> None:
        self.calls.append("startup")

    async def run(self, stop: asyncio.Event) -> None:
        self.calls.append("run")

    async def shutdown(self) -> None:
        self.calls.append("shutdown")


def test_run_service_tunes_the_gc_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(runtime, "tune_gc", lambda: calls.append("gc"))
    assert runtime.run_service(_Quick(calls), shutdown_timeout=5) == 0
    assert calls == ["gc", "startup", "run", "shutdown"]
