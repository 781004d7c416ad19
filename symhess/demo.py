"""The demo: the Hessian of a neo-Hookean strain energy, its closed form and its speed."""

from __future__ import annotations

import time
import timeit

import numpy as np


def energy(F):
    """Compressible neo-Hookean strain energy of a 3x3 deformation gradient."""
    J = np.linalg.det(F)
    return 0.5 * (np.sum(F * F) - 3) - np.log(J) + np.log(J) ** 2


def run(out=print) -> None:
    """Compile, inspect and time the Hessian of `energy`."""
    import sympy

    import symhess

    F = np.eye(3) + 0.1 * np.arange(9.0).reshape(3, 3) / 9
    start = time.perf_counter()
    H = symhess.hessian(energy)
    compiled = H.compile(F)
    result = compiled(F)
    seconds = time.perf_counter() - start
    out("symhess demo: the Hessian of a neo-Hookean energy W(F), F a 3x3 matrix\n")
    out(f"compiled in {seconds:.2f} s (cached on disk for the next run); "
        f"result shape {result.shape}, {len(compiled.entries())} distinct nonzero entries "
        "in the upper triangle\n")
    (o, k, l), expr = next(iter(compiled.entries().items()))
    out(f"closed form of d2W / dF[0, 0] dF[0, 0]:\n")
    out(sympy.pretty(sympy.sympify(expr), use_unicode=False, wrap_line=False))
    n = 20000
    per_call = timeit.timeit(lambda: compiled(F), number=n) / n
    out(f"\none Hessian call: {per_call * 1e6:.2f} us")
    out(f"H[0, 0] =\n{np.array2string(result[0, 0], precision=4)}")
