"""The demo: the Hessian of a neo-Hookean strain energy, its closed form and its speed."""

from __future__ import annotations

import time
import timeit

import numpy as np


def energy(F):
    """Compressible neo-Hookean strain energy of a 3x3 deformation gradient."""
    J = np.linalg.det(F)
    return 0.5 * (np.sum(F * F) - 3) - np.log(J) + np.log(J) ** 2


def readable(expr, F):
    """``expr`` with ``det F`` written ``J`` and its cofactors ``C[i, j]``, as `energy` has them.

    ``F`` is the 3x3 SymPy matrix of the input symbols. The traced determinant is a cofactor
    expansion along the first row, so its minors appear verbatim in the derivatives.
    """
    import sympy

    J = sympy.Symbol("J")
    C = sympy.Matrix(3, 3, lambda i, j: sympy.Symbol(f"C[{i}, {j}]"))
    # Each 2x2 minor is a cofactor up to the sign (-1)**(i + j); after that substitution the
    # determinant reads sum_j F[0, j] C[0, j].
    expr = expr.xreplace({F.minor(i, j): (-1) ** (i + j) * C[i, j]
                          for i in range(3) for j in range(3)})
    return expr.xreplace({sum(F[0, j] * C[0, j] for j in range(3)): J})


def run(out=print, calls: int = 20000) -> dict:
    """Compile, inspect and time the Hessian of `energy`; return the figures printed."""
    import sympy

    import symhess

    F = np.eye(3) + 0.1 * np.arange(9.0).reshape(3, 3) / 9
    start = time.perf_counter()
    H = symhess.hessian(energy)
    compiled = H.compile(F)
    result = compiled(F)
    seconds = time.perf_counter() - start
    out("symhess demo: the Hessian of a neo-Hookean energy W(F), F a 3x3 matrix\n")
    out(f"compiled in {seconds:.2f} s (cached on disk for the next run); result shape "
        f"{result.shape}, {len(compiled.entries())} distinct nonzero entries in the upper "
        "triangle\n")
    Fs = sympy.Matrix(3, 3, lambda i, j: sympy.Symbol(f"F[{i}, {j}]"))
    blocks = compiled.expressions()
    out("closed forms, with J = det F and C = cof F (C[i, j] = dJ/dF[i, j]):\n")
    for index in [(0, 0, 0, 0), (0, 0, 1, 1)]:
        expr = readable(blocks[index], Fs)
        out(f"d2W / dF[{index[0]}, {index[1]}] dF[{index[2]}, {index[3]}] =")
        out(sympy.pretty(expr, use_unicode=False, wrap_line=False) + "\n")
    per_call = timeit.timeit(lambda: compiled(F), number=calls) / calls
    out(f"one Hessian call: {per_call * 1e6:.2f} us")
    out(f"H[0, 0] =\n{np.array2string(result[0, 0], precision=4)}")
    return {"compile_seconds": seconds, "call_seconds": per_call, "hessian": result}
