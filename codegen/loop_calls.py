"""BLAS and LAPACK calls of a loop program (`codegen.loop_ir`): products, inverses, determinants.

`LinearAlgebraCalls` is the part of `codegen.loop_ir.LoopProgram` that compiles the statements

    ``C = np.dot(A, B)`` (either operand may be transposed: ``A.T``),
    ``X = np.linalg.inv(A)``, ``sign, logabsdet = np.linalg.slogdet(A)``,
    ``w, V = np.linalg.eigh(A)`` (of a symmetric ``A``)

into calls of SciPy's Fortran BLAS and LAPACK (``gemm``, ``getrf``, ``getri``, ``syev``), whose
addresses the caller puts in a table (`LINEAR_ALGEBRA`, in its order) when it loads the code.
A C-ordered matrix is, in Fortran's column-major order, its transpose: each call is written
for that view.
"""

from __future__ import annotations

import ast
import math

from .llvm_ir import double
from .printer import CodegenError

__all__ = ["LINEAR_ALGEBRA", "LinearAlgebraCalls"]

#: The BLAS and LAPACK functions (SciPy's Fortran ones) a program may call, in the order of
#: the table of their addresses the caller fills.
LINEAR_ALGEBRA = ("dgemm", "sgemm", "dgetrf", "sgetrf", "dgetri", "sgetri", "dsyev", "ssyev")


class LinearAlgebraCalls:
    """Statements calling BLAS and LAPACK; mixed into `codegen.loop_ir.LoopProgram`, whose
    arrays, stack slots and blocks they use (``array``, ``allocate``, ``copy``, ``loop``,
    ``label``/``enter``, ``fresh``, ``allocas``, ``lines``, ``blas``: the table's name)."""

    def matrix_product(self, name: str, left, right) -> None:
        """``name = np.dot(A, B)`` by BLAS, each operand a C-ordered matrix or its transpose
        (``A.T``). A C-ordered (r, c) matrix is, in Fortran's column-major order, its transpose
        with leading dimension c; so ``C = op(A) op(B)`` is, column-major, ``C' = op(B)' op(A)'``:
        ``gemm(tB, tA, n, m, k, 1, B, ldb, A, lda, 0, C, n)``."""
        a, ta = self.matrix(left)
        b, tb = self.matrix(right)
        m, k = a.shape[::-1] if ta else a.shape
        k2, n = b.shape[::-1] if tb else b.shape
        if k != k2 or a.dtype != b.dtype or a.dtype not in ("float64", "float32"):
            raise CodegenError(f"loop program: np.dot of {ast.unparse(left)!r} and "
                               f"{ast.unparse(right)!r}: two float matrices of matching sizes")
        c = self.allocate(name, a.dtype, (m, n), zero=False)
        elem, letter = a.elem, _letter(a)
        ints = self.arguments("i32", n=n, m=m, k=k, lda=a.shape[1], ldb=b.shape[1])
        literals = {key: double(value) if elem == "double" else
                    self.fresh(f"fptrunc double {double(value)} to float")
                    for key, value in (("one", 1.0), ("zero", 0.0))}
        scalars = self.arguments(elem, **literals)
        chars = self.arguments("i8", a=ord("T" if ta else "N"), b=ord("T" if tb else "N"))
        p = f"{elem}*"
        signature = f"void (i8*, i8*, i32*, i32*, i32*, {p}, {p}, i32*, {p}, i32*, {p}, {p}, i32*)*"
        gemm = self.routine(f"{letter}gemm", signature)
        self.lines.append(
            f"call void {gemm}(i8* {chars['b']}, i8* {chars['a']}, i32* {ints['n']}, "
            f"i32* {ints['m']}, i32* {ints['k']}, {p} {scalars['one']}, {p} {b.address}, "
            f"i32* {ints['ldb']}, {p} {a.address}, i32* {ints['lda']}, {p} {scalars['zero']}, "
            f"{p} {c.address}, i32* {ints['n']})")

    def matrix(self, node) -> tuple:
        """``(array, transposed)`` of a matrix operand ``X`` or ``X.T``."""
        transposed = isinstance(node, ast.Attribute) and node.attr == "T"
        array = self.array(node.value if transposed else node)
        if len(array.shape) != 2:
            raise CodegenError(f"loop program: np.dot of {ast.unparse(node)!r}, not a matrix")
        return array, transposed

    def routine(self, name: str, signature: str) -> str:
        """The address of BLAS or LAPACK function ``name`` (from the table) as ``signature``."""
        table = f"[{len(LINEAR_ALGEBRA)} x i8*]"
        fn = self.fresh(f"load i8*, i8** getelementptr inbounds ({table}, {table}* {self.blas}, "
                        f"i64 0, i64 {LINEAR_ALGEBRA.index(name)})")
        self.uses_blas = True
        return self.fresh(f"bitcast i8* {fn} to {signature}")

    def arguments(self, kind: str, **values) -> dict:
        """Stack slots of LLVM type ``kind`` holding ``values`` (operands of that type): BLAS's
        and LAPACK's arguments are pointers, to integers, option characters and scalars."""
        slots = {}
        for key, value in values.items():
            slots[key] = f"%lapack.{key}{self.count}"
            self.allocas.append(f"{slots[key]} = alloca {kind}")
            self.lines.append(f"store {kind} {value}, {kind}* {slots[key]}")
        self.count += 1
        return slots

    def square(self, matrix, what: str):
        """The array of ``matrix``, a square float matrix operand of ``what``."""
        a = self.array(matrix)
        if len(a.shape) != 2 or a.shape[0] != a.shape[1] or \
                a.dtype not in ("float64", "float32"):
            raise CodegenError(f"loop program: {what} of a square float matrix")
        return a

    def factorize(self, lu, tag: str):
        """LAPACK's LU factorization (``getrf``) of square matrix ``lu`` in place: its pivots'
        array and the integer slots ``n`` and ``info``."""
        n, p = lu.shape[0], f"{lu.elem}*"
        pivots = self.allocate(f"{tag}.pivots", "int32", (n,), zero=False)
        slots = self.arguments("i32", n=n, info=0)
        getrf = self.routine(f"{_letter(lu)}getrf", f"void (i32*, i32*, {p}, i32*, i32*, i32*)*")
        self.lines.append(f"call void {getrf}(i32* {slots['n']}, i32* {slots['n']}, {p} "
                          f"{lu.address}, i32* {slots['n']}, i32* {pivots.address}, "
                          f"i32* {slots['info']})")
        return pivots, slots

    def fill_nan(self, *arrays) -> None:
        """Every element of ``arrays`` set to NaN (a failed factorization's result)."""
        nan = (double(math.nan), "f")
        for array in arrays:
            self.loop(array.size, lambda i, array=array: self.store(array, i, nan))

    def inverse(self, name: str, matrix) -> None:
        """``name = np.linalg.inv(A)`` by LAPACK's LU factorization and inversion in place of a
        copy (a C-ordered matrix is its transpose in Fortran's order, whose inverse is the
        inverse's transpose). A singular matrix gives NaNs, as JAX does."""
        a = self.square(matrix, "np.linalg.inv")
        n, p = a.shape[0], f"{a.elem}*"
        c = self.allocate(name, a.dtype, (n, n), zero=False)
        self.copy(a, c, 0)
        pivots, slots = self.factorize(c, name)
        lwork = self.arguments("i32", lwork=64 * n)["lwork"]
        work = self.allocate(f"{name}.work", a.dtype, (64 * n,), zero=False)
        info = self.fresh(f"load i32, i32* {slots['info']}")
        singular, regular = self.label("singular"), self.label("regular")
        done = self.label("inverted")
        self.lines.append(f"br i1 {self.fresh(f'icmp ne i32 {info}, 0')}, label %{singular}, "
                          f"label %{regular}")
        self.enter(singular)
        self.fill_nan(c)
        self.lines.append(f"br label %{done}")
        self.enter(regular)
        getri = self.routine(f"{_letter(a)}getri", f"void (i32*, {p}, i32*, i32*, {p}, i32*, i32*)*")
        self.lines.append(f"call void {getri}(i32* {slots['n']}, {p} {c.address}, i32* "
                          f"{slots['n']}, i32* {pivots.address}, {p} {work.address}, i32* "
                          f"{lwork}, i32* {slots['info']})")
        self.lines.append(f"br label %{done}")
        self.enter(done)

    def log_determinant(self, names: list, matrix) -> None:
        """``sign, logabsdet = np.linalg.slogdet(A)`` from LAPACK's LU factorization of a copy:
        the product of the pivots' signs and of the row exchanges', the sum of the logarithms
        of their magnitudes (an exactly singular matrix gives ``(0, -inf)``, as NumPy)."""
        a = self.square(matrix, "np.linalg.slogdet")
        n = a.shape[0]
        lu = self.allocate(f"{names[0]}.lu", a.dtype, (n, n), zero=False)
        self.copy(a, lu, 0)
        pivots, _ = self.factorize(lu, names[0])
        sign, log = f"%slogdet.sign{self.count}", f"%slogdet.log{self.count}"
        self.count += 1
        self.allocas += [f"{sign} = alloca double", f"{log} = alloca double"]
        self.lines += [f"store double 1.0, double* {sign}", f"store double 0.0, double* {log}"]
        self.declares.add("declare double @llvm.log.f64(double)")

        def step(i):
            d = self.load(lu, self.fresh(f"mul nsw i64 {i}, {n + 1}"))
            moved = self.fresh(f"icmp ne i64 {self.load(pivots, i)[0]}, "
                               f"{self.fresh(f'add nsw i64 {i}, 1')}")
            s = self.fresh(f"fmul double {self.fresh(f'load double, double* {sign}')}, "
                           f"{self.sign(d)[0]}")
            flipped = self.fresh(f"fneg double {s}")
            chosen = self.fresh(f"select i1 {moved}, double {flipped}, double {s}")
            self.lines.append(f"store double {chosen}, double* {sign}")
            term = self.fresh(f"call double @llvm.log.f64(double {self.absolute(d)[0]})")
            total = self.fresh(f"fadd double {self.fresh(f'load double, double* {log}')}, {term}")
            self.lines.append(f"store double {total}, double* {log}")
        self.loop(n, step)
        self.assign_scalar(names[0], (self.fresh(f"load double, double* {sign}"), "f"))
        self.assign_scalar(names[1], (self.fresh(f"load double, double* {log}"), "f"))

    def eigen(self, names: list, matrix) -> None:
        """``w, V = np.linalg.eigh(A)`` for a symmetric ``A`` by LAPACK's ``syev`` on a copy
        (symmetric: the same matrix in either order), whose eigenvectors, the columns of its
        Fortran-ordered result, are transposed into ``V``. A matrix with a NaN or an infinity
        (which LAPACK need not survive), or on which ``syev`` fails, gives NaNs."""
        a = self.square(matrix, "np.linalg.eigh")
        n = a.shape[0]
        w = self.allocate(names[0], a.dtype, (n,), zero=False)
        v = self.allocate(names[1], a.dtype, (n, n), zero=False)
        q = self.allocate(f"{names[1]}.lapack", a.dtype, (n, n), zero=False)
        lwork = max(64 * n, 1)
        work = self.allocate(f"{names[1]}.work", a.dtype, (lwork,), zero=False)
        self.copy(a, q, 0)
        slots = self.arguments("i32", n=n, lwork=lwork, info=0)
        check = f"%eigh.check{self.count}"
        self.count += 1
        self.allocas.append(f"{check} = alloca double")
        self.lines.append(f"store double 0.0, double* {check}")

        def scan(i):                 # 0 * x is NaN for a NaN or an infinity
            term = self.fresh(f"fmul double {self.load(q, i)[0]}, 0.0")
            total = self.fresh(f"load double, double* {check}")
            self.lines.append(f"store double {self.fresh(f'fadd double {total}, {term}')}, "
                              f"double* {check}")
        self.loop(n * n, scan)
        bad, good, done = self.label("eigh.bad"), self.label("eigh.good"), self.label("eigh.done")
        total = self.fresh(f"load double, double* {check}")
        finite = self.fresh(f"fcmp oeq double {total}, 0.0")
        self.lines.append(f"br i1 {finite}, label %{good}, label %{bad}")
        self.enter(good)
        chars = self.arguments("i8", jobz=ord("V"), uplo=ord("L"))
        p = f"{a.elem}*"
        syev = self.routine(f"{_letter(a)}syev",
                            f"void (i8*, i8*, i32*, {p}, i32*, {p}, {p}, i32*, i32*)*")
        self.lines.append(f"call void {syev}(i8* {chars['jobz']}, i8* {chars['uplo']}, i32* "
                          f"{slots['n']}, {p} {q.address}, i32* {slots['n']}, {p} {w.address}, "
                          f"{p} {work.address}, i32* {slots['lwork']}, i32* {slots['info']})")
        info = self.fresh(f"load i32, i32* {slots['info']}")
        solved = self.label("eigh.solved")
        self.lines.append(f"br i1 {self.fresh(f'icmp eq i32 {info}, 0')}, label %{solved}, "
                          f"label %{bad}")
        self.enter(solved)

        def transpose(i):
            row = self.fresh(f"sdiv i64 {i}, {n}")
            column = self.fresh(f"srem i64 {i}, {n}")
            at = self.fresh(f"add nsw i64 {self.fresh(f'mul nsw i64 {column}, {n}')}, {row}")
            self.store(v, i, self.load(q, at))
        self.loop(n * n, transpose)
        self.lines.append(f"br label %{done}")
        self.enter(bad)
        self.fill_nan(w, v)
        self.lines.append(f"br label %{done}")
        self.enter(done)


def _letter(array) -> str:
    """BLAS's and LAPACK's prefix for the array's type: ``d`` (double) or ``s`` (float)."""
    return "d" if array.dtype == "float64" else "s"
