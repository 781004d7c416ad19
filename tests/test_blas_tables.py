"""SciPy's BLAS and LAPACK tables loaded without ``scipy.linalg``'s package
(`symhess.codegen.blas_tables`): a kernel calling BLAS runs, and ``scipy.linalg`` imported after
it is whole (its attributes, its functions, the same table modules)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys, threading
    import numpy as np
    import symhess

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(700, 40)), rng.uniform(size=700)   # 1.1e6 products: BLAS

    def loss(w, X, y):
        z = X @ w
        return np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(w @ w)

    w = rng.normal(size=40) * 0.1
    results = []
    threads = [threading.Thread(target=lambda: results.append(symhess.hessian(loss)(w, X, y)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "scipy.linalg" not in sys.modules, "scipy.linalg was imported"
    assert "scipy.linalg.cython_blas" in sys.modules, "the kernel did not call BLAS"
    p = 1 / (1 + np.exp(-(X @ w)))
    want = X.T @ (X * (p * (1 - p))[:, None]) + np.eye(40)    # the closed form
    assert len(results) == 4
    for H in results:
        assert np.allclose(H, want, rtol=1e-12, atol=1e-12), abs(H - want).max()

    import scipy.linalg
    from scipy.linalg import cython_blas
    import scipy.linalg.cython_lapack as lapack
    assert scipy.linalg.cython_blas is cython_blas is sys.modules["scipy.linalg.cython_blas"]
    assert scipy.linalg.cython_lapack is lapack
    A = np.array([[4.0, 1.0], [1.0, 3.0]])
    assert np.allclose(scipy.linalg.solve(A, [1.0, 2.0]), np.linalg.solve(A, [1.0, 2.0]))
    assert np.allclose(scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), [1.0, 2.0]),
                       np.linalg.solve(A, [1.0, 2.0]))
    import scipy.stats
    assert abs(scipy.stats.norm.cdf(0.0) - 0.5) < 1e-15
    print("ok")
""")


def test_a_blas_kernel_then_scipy_linalg(tmp_path):
    env = dict(os.environ, SYMHESS_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
