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
