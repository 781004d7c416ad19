"""Shared fixtures: one disk cache per test run, JAX as the reference, tolerances per dtype."""

import os
import shutil
import tempfile

import numpy as np
import pytest

# The disk cache must be private to this run before symhess reads the variable, so it is set at
# import time (a session fixture would run after test modules import symhess).
_CACHE = tempfile.TemporaryDirectory(prefix="symhess-test-cache-")
os.environ["SYMHESS_CACHE_DIR"] = _CACHE.name

# CUDA kernels run on the GPU where there is one, else in Numba's CUDA simulator (numba reads the
# variable when it is first imported, which is after this file).
if shutil.which("nvidia-smi") is None:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

# float64 references compared with float64 kernels; float32 kernels are compared with the float64
# reference evaluated at the same (rounded) inputs.
TOLERANCES = {
    np.dtype(np.float64): dict(rtol=1e-9, atol=1e-10),
    np.dtype(np.float32): dict(rtol=2e-4, atol=2e-4),
    np.dtype(np.complex128): dict(rtol=1e-9, atol=1e-10),
}


def pytest_sessionfinish(session, exitstatus):
    _CACHE.cleanup()


# --- the reliability report ----------------------------------------------------------------------
# Tests marked ``@pytest.mark.attack("what")`` try to make symhess give a wrong number or fail
# (kill a compile, race processes and threads, damage or plant cache entries). Each counts as one
# try, held when it passes, unless it records its own counts with the `attempts` fixture (a test
# that repeats an attack many times). The name may hold ``{param}`` fields of a parametrized
# test. The run ends with a table: attack, tried, held.
_ATTACKS: dict = {}


@pytest.fixture
def attempts(request):
    """``attempts(tried, held)``: record how many tries of this test's attack ran and held."""
    def record(tried, held):
        request.node.attack_counts = (tried, held)
    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    marker = item.get_closest_marker("attack")
    if marker is None or report.skipped or getattr(item, "attack_counted", False):
        return
    if report.when != "call" and report.passed:
        return
    tried, held = getattr(item, "attack_counts", (1, 1))
    if report.failed:            # a failed setup or call: a try that did not hold
        held = min(held, tried - 1)
    params = item.callspec.params if hasattr(item, "callspec") else {}
    # carried by the report, so that counts made in pytest-xdist's workers reach the controller
    report.user_properties.append(("attack", (marker.args[0].format(**params), tried, held)))
    item.attack_counted = True


def pytest_runtest_logreport(report):
    for key, value in report.user_properties:
        if key == "attack":
            name, tried, held = value
            counts = _ATTACKS.setdefault(name, [0, 0])
            counts[0] += tried
            counts[1] += held


def pytest_terminal_summary(terminalreporter):
    if not _ATTACKS:
        return
    width = max(len(name) for name in _ATTACKS)
    terminalreporter.section("reliability: attacks tried and held")
    terminalreporter.write_line(f"{'attack':<{width}}  {'tried':>7}  {'held':>7}")
    for name, (tried, held) in sorted(_ATTACKS.items()):
        terminalreporter.write_line(f"{name:<{width}}  {tried:>7}  {held:>7}")


@pytest.hookimpl(optionalhook=True)       # a hook of pytest-xdist, used where it is installed
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (the default, pyproject.toml): one worker per usable core, at most eight
    (each holds its own JAX and Numba, about a gigabyte)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


@pytest.fixture(scope="session")
def cache_dir():
    """The disk cache folder shared by the whole run."""
    return _CACHE.name


@pytest.fixture(scope="session")
def jax():
    """JAX with 64-bit floats, or a skip when it is not installed."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.fixture(scope="session")
def jnp(jax):
    import jax.numpy as jnp
    return jnp


def neo_hookean(xp):
    """The compressible neo-Hookean energy of a 3x3 deformation gradient, for namespace ``xp``."""
    def energy(F):
        J = xp.linalg.det(F)
        return 0.5 * (xp.sum(F * F) - 3) - xp.log(J) + xp.log(J) ** 2
    return energy


def rosenbrock_hessian(x):
    """The closed-form Hessian of the Rosenbrock function (tridiagonal)."""
    n = len(x)
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[:-1]
    return H


def assert_tree_close(got, expected, dtype=np.dtype(np.float64), path="H"):
    """Assert two pytrees have the same structure, leaf shapes and (within tolerance) values."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"{path}: expected a dict, got {type(got).__name__}"
        assert sorted(got) == sorted(expected), f"{path}: keys {sorted(got)} != {sorted(expected)}"
        for k in expected:
            assert_tree_close(got[k], expected[k], dtype, f"{path}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(got) is type(expected), \
            f"{path}: expected {type(expected).__name__}, got {type(got).__name__}"
        assert len(got) == len(expected), f"{path}: length {len(got)} != {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_tree_close(g, e, dtype, f"{path}[{i}]")
    elif expected is None:
        assert got is None, f"{path}: expected None, got {type(got).__name__}"
    else:
        expected = np.asarray(expected)
        got_arr = np.asarray(got)
        assert got_arr.shape == expected.shape, f"{path}: shape {got_arr.shape} != {expected.shape}"
        np.testing.assert_allclose(got_arr, expected, err_msg=path, **TOLERANCES[np.dtype(dtype)])
