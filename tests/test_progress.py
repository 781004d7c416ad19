"""Compile progress reporting, and a clean cache after an interrupted compile."""

import io
import logging
import os

import numpy as np
import pytest

import symhess
from symhess import cache, progress

STAGES = ["trace", "differentiate", "CSE", "emit", "compile"]


def f(x):
    return np.sum(np.sin(x) ** 2 * np.arange(1.0, 4.0))


def expected(x):          # the closed form of the Hessian of f
    return np.diag(2 * np.cos(2 * x) * np.arange(1.0, 4.0))


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_verbose_reports_every_stage_to_logging_and_terminal(fresh_cache, caplog, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    x = np.array([0.1, 0.2, 0.3])
    with caplog.at_level(logging.INFO, logger="symhess"):
        np.testing.assert_allclose(symhess.hessian(f, verbose=True)(x), expected(x), atol=1e-14)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    for stage in STAGES:
        assert any(f": {stage} took" in m for m in messages), (stage, messages)
    assert "compiled in" in terminal.getvalue()


@pytest.mark.parametrize("how", ["option", "environment"])
def test_quiet_compiles_report_nothing(fresh_cache, caplog, monkeypatch, how):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr(progress, "REPORT_AFTER", 0.0)     # every compile counts as slow
    kwargs = {"verbose": False} if how == "option" else {}
    if how == "environment":
        monkeypatch.setenv("SYMHESS_VERBOSE", "0")
    with caplog.at_level(logging.INFO, logger="symhess"):
        symhess.hessian(f, **kwargs)(np.ones(3))
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]
    assert terminal.getvalue() == ""


def test_slow_compiles_report_without_being_asked(fresh_cache, caplog, monkeypatch):
    monkeypatch.setattr(progress, "REPORT_AFTER", 0.0)
    monkeypatch.delenv("SYMHESS_VERBOSE", raising=False)
    with caplog.at_level(logging.INFO, logger="symhess"):
        symhess.hessian(f)(np.ones(3))
    assert any("compiled in" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_interrupt_while_writing_leaves_the_cache_clean(fresh_cache, monkeypatch):
    real_replace = os.replace

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        symhess.hessian(f)(np.ones(3))
    # no partial or temporary file: only the (empty) folder for Numba's cache
    assert [p.name for p in fresh_cache.iterdir()] == ["__pycache__"]
    assert list((fresh_cache / "__pycache__").iterdir()) == []
    monkeypatch.setattr(cache.os, "replace", real_replace)
    x = np.array([0.4, 0.5, 0.6])
    np.testing.assert_allclose(symhess.hessian(f)(x), expected(x), atol=1e-14)
    assert len(list(fresh_cache.glob("k*.py"))) == 1
