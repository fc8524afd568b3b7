"""`liqmon run exchange-sim`: the process set-up that is not the simulator itself."""

from __future__ import annotations

import gc

import pytest

from liqmon_sim import main as main_mod


def test_tune_gc_freezes_start_up_objects_and_raises_the_thresholds():
    before = gc.get_threshold()
    try:
        main_mod.tune_gc()
        assert gc.get_threshold() == main_mod.GC_THRESHOLDS
        assert gc.get_threshold()[0] > before[0]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_main_tunes_the_gc_before_serving(monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    monkeypatch.setattr(main_mod, "configure_logging", lambda *a: None)
    monkeypatch.setattr(main_mod, "tune_gc", lambda: calls.append("gc"))
    monkeypatch.setattr(main_mod, "run_service", lambda service: calls.append("run") or 0)
    assert main_mod.main([]) == 0
    assert calls == ["gc", "run"]
