"""Build cost of a constrained NLP solved by IPOPT: symhess against CasADi's ``nlpsol``.

Two problems, each written twice, the natural way for each tool: in plain NumPy for symhess
(the code of `examples/hs071_ipopt.py` and `examples/chained_ipopt.py`), and with CasADi SX
symbols (``SX.sym('x', n)`` and its slices) for CasADi.

* ``hs071``: Hock and Schittkowski's problem 71, 4 variables, one inequality, one equality.
* ``chained``: the chained Rosenbrock function with trigonometric-exponential constraints
  (Luksan and Vlcek), n variables and n - 2 equalities, banded Jacobian and Hessian.

Every (problem, n, tool) runs in fresh subprocesses (``--repeats`` of them), each with empty
``SYMHESS_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` folders. After the imports (symhess, cyipopt
and casadi in every worker alike), a worker measures:

* ``build_s``: until the solver object is ready. symhess: `symhess.optimize.IpoptCallbacks`
  (which compiles the gradient, the constraint Jacobian and the Hessian of the Lagrangian) and
  ``cyipopt.Problem``. CasADi: the SX expressions and ``casadi.nlpsol(..., 'ipopt', ...)``.
* ``solve_s``: the whole IPOPT solve (tol 1e-9, print level 0); build + solve is the total
  (the median of each over the processes is reported);
* the iteration count, the objective at each iteration (the first ten are compared between
  the tools: the same iterates give the same values), the final objective, the largest
  constraint violation ``max(cl - c(x*), c(x*) - cu, 0)`` (``max |c(x*)|`` for equalities) and
  IPOPT's status.

"user code lines" counts the lines of the two functions that state the problem for a tool
(objective and constraints), without blank lines, comments and docstrings; the start point,
the bounds and the solver call are the same few lines for both tools and are not counted.
A worker that outlives ``--timeout`` is reported as ``timeout`` and the larger sizes of that
problem are skipped for that tool. The tools run different IPOPT builds (cyipopt calls the
library it was built against, CasADi ships its own), so ``solve_s`` compares those as well.

Run: ``python -m benchmarks.nlp [--sizes 1000,10000,100000] [--repeats 2] [--timeout 300]
[--out benchmarks/results]``; it writes ``nlp.json`` (raw figures, machine) and ``nlp.md``.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from importlib.metadata import version
from pathlib import Path

import casadi as ca
import cyipopt
import numpy as np

import symhess
from symhess.optimize import IpoptCallbacks

from .sysinfo import cpu_model, usable_cores

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("symhess", "casadi")


def _example(name):
    """The module ``examples/<name>.py``: symhess's side of a problem is the example's code."""
    spec = importlib.util.spec_from_file_location(f"example_{name}",
                                                  REPO_ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The problems in NumPy (symhess): the examples'.
HS071, CHAINED = _example("hs071_ipopt"), _example("chained_ipopt")


# The same problems with CasADi SX symbols.

def hs071_f_casadi(x):
    return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]


def hs071_c_casadi(x):
    return ca.vertcat(x[0] * x[1] * x[2] * x[3], ca.sumsqr(x))


def chained_f_casadi(x):
    return ca.sum1(100.0 * (x[:-1] ** 2 - x[1:]) ** 2 + (x[:-1] - 1.0) ** 2)


def chained_g_casadi(x):
    a, b, d = x[:-2], x[1:-1], x[2:]
    return (3.0 * b ** 3 + 2.0 * d - 5.0 + ca.sin(b - d) * ca.sin(b + d) + 4.0 * b
            - a * ca.exp(a - b) - 3.0)


def hs071_data(n):
    """HS071's start and bounds ``(x0, lb, ub, cl, cu)``; it has 4 variables whatever ``n``."""
    return HS071.X0, HS071.LOWER, HS071.UPPER, HS071.CL, HS071.CU


def chained_data(n):
    """The chained problem's start (the example's) and bounds: n - 2 equalities."""
    return (CHAINED.start(n), np.full(n, -np.inf), np.full(n, np.inf), np.zeros(n - 2),
            np.zeros(n - 2))


PROBLEMS = {
    "hs071": {"data": hs071_data, "symhess": (HS071.objective, HS071.constraints),
              "casadi": (hs071_f_casadi, hs071_c_casadi), "sized": False},
    "chained": {"data": chained_data, "symhess": (CHAINED.objective, CHAINED.constraints),
                "casadi": (chained_f_casadi, chained_g_casadi), "sized": True},
}


def code_lines(function) -> int:
    """Lines of a function's source, without blank lines, comments and its docstring."""
    source = textwrap.dedent(inspect.getsource(function))
    body = ast.parse(source).body[0].body
    docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    skip = set(range(body[0].lineno, body[0].end_lineno + 1)) if docstring else set()
    return sum(1 for i, line in enumerate(source.splitlines(), 1)
               if i not in skip and line.strip() and not line.strip().startswith("#"))


class Recording(IpoptCallbacks):
    """symhess's IPOPT callbacks, recording the objective at every iteration."""

    def __init__(self, *args):
        super().__init__(*args)
        self.objectives = []

    def intermediate(self, alg_mod, iter_count, obj_value, *rest):
        self.objectives.append(float(obj_value))


def solve_symhess(problem: str, n: int) -> dict:
    """Build and solve with symhess's callbacks and ``cyipopt.Problem``; the figures."""
    (f, c), (x0, lb, ub, cl, cu) = PROBLEMS[problem]["symhess"], PROBLEMS[problem]["data"](n)
    t0 = time.perf_counter()
    callbacks = Recording(f, c, x0)
    solver = cyipopt.Problem(n=callbacks.n, m=callbacks.m, problem_obj=callbacks, lb=lb, ub=ub,
                             cl=cl, cu=cu)
    build = time.perf_counter() - t0
    solver.add_option("print_level", 0)
    solver.add_option("tol", 1e-9)
    t0 = time.perf_counter()
    x, info = solver.solve(x0)
    solve = time.perf_counter() - t0
    message = info["status_msg"]                # bytes in cyipopt
    status = message.decode() if isinstance(message, bytes) else str(message)
    return {"build_s": build, "solve_s": solve, "iterations": len(callbacks.objectives) - 1,
            "objectives": callbacks.objectives, "f": float(info["obj_val"]),
            "violation": _violation(c(x), cl, cu), "status": status}


def solve_casadi(problem: str, n: int) -> dict:
    """Build and solve with ``casadi.nlpsol`` from SX expressions; the figures."""
    (f, g), (x0, lb, ub, cl, cu) = PROBLEMS[problem]["casadi"], PROBLEMS[problem]["data"](n)
    t0 = time.perf_counter()
    x = ca.SX.sym("x", x0.size)
    solver = ca.nlpsol("S", "ipopt", {"x": x, "f": f(x), "g": g(x)},
                       {"ipopt.print_level": 0, "print_time": False, "ipopt.tol": 1e-9})
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solver(x0=x0, lbx=lb, ubx=ub, lbg=cl, ubg=cu)
    solve = time.perf_counter() - t0
    stats = solver.stats()
    return {"build_s": build, "solve_s": solve, "iterations": int(stats["iter_count"]),
            "objectives": [float(v) for v in stats["iterations"]["obj"]],
            "f": float(sol["f"]), "violation": _violation(sol["g"].full().ravel(), cl, cu),
            "status": stats["return_status"]}


def _violation(values, cl, cu) -> float:
    """The largest violation of ``cl <= values <= cu`` (0 when feasible), values an array."""
    return float(max(np.max(cl - values, initial=0.0), np.max(values - cu, initial=0.0)))


def run_cold(problem: str, tool: str, n: int, timeout: float) -> dict:
    """One fresh worker process with empty symhess and Numba caches."""
    with tempfile.TemporaryDirectory(prefix="symhess-nlp-") as scratch:
        env = dict(os.environ, SYMHESS_CACHE_DIR=os.path.join(scratch, "symhess"),
                   NUMBA_CACHE_DIR=os.path.join(scratch, "numba"))
        try:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.nlp", "--worker", problem,
                                   tool, str(n)], cwd=REPO_ROOT, env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": "timeout"}
    if proc.returncode != 0:
        return {"error": f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_start(a: list, b: list, count: int = 10, rtol: float = 1e-6) -> bool:
    """Whether two objective sequences agree on their first ``count`` values (relative)."""
    a, b = np.asarray(a[:count]), np.asarray(b[:count])
    return a.size == b.size and bool(np.allclose(a, b, rtol=rtol, atol=0.0))


def machine() -> dict:
    """Date, CPU, cores and the versions of the libraries measured."""
    versions = {name: version(name) for name in ("symhess", "casadi", "cyipopt", "numpy")}
    versions["ipopt (cyipopt)"] = ".".join(map(str, cyipopt.IPOPT_VERSION))
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "cpu": cpu_model(),
            "cores": usable_cores(), "python": sys.version.split()[0], "versions": versions}


def markdown(rows: list, info: dict) -> str:
    """The results table, with the machine it was measured on."""
    lines = ["# Constrained problems with IPOPT: symhess vs CasADi `nlpsol`", "",
             f"{info['date']}, {info['cpu']}, {info['cores']} cores; "
             + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".", "",
             "| problem | n | tool | build s (median) | solve s | iterations | final f "
             "| max violation | same first-10 objectives | user code lines |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for r in rows:
        if "error" in r:
            cells = [r["error"]] + [""] * 5
        else:
            cells = [f"{r['build_s']:.3g}", f"{r['solve_s']:.3g}", str(r["iterations"]),
                     f"{r['f']:.10g}", f"{r['violation']:.1e}", r.get("same_start", "—")]
        lines.append(f"| {r['problem']} | {r['n']} | {r['tool']} | " + " | ".join(cells)
                     + f" | {r['code_lines']} |")
    return "\n".join(lines + [
        "", "build: after the imports until the solver object is ready; solve: IPOPT's whole "
        "solve; both the median of the cold processes. max violation: of the constraints at "
        "the solution. same first-10 objectives: the objectives at iterations 0 to 9 agree "
        "with the other tool's within 1e-6 relative. cyipopt runs the IPOPT it was built "
        "against (version above), CasADi its own. See `benchmarks/nlp.py`.", ""])


def measure(problem: str, tool: str, n: int, repeats: int, timeout: float) -> dict:
    """``repeats`` cold processes of one combination, summarised by their medians."""
    runs = []
    for _ in range(repeats):
        runs.append(r := run_cold(problem, tool, n, timeout))
        print(f"  {problem} n={n} {tool}: " + (r.get("error") or f"build {r['build_s']:.3g} s, "
              f"solve {r['solve_s']:.3g} s, f = {r['f']:.10g}"), file=sys.stderr, flush=True)
        if "error" in r:
            return {"problem": problem, "n": n, "tool": tool, "error": r["error"], "runs": runs}
    row = dict(runs[0], problem=problem, n=n, tool=tool, runs=runs)
    row.update({key: statistics.median(r[key] for r in runs) for key in ("build_s", "solve_s")})
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nlp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="sizes n of the chained problem (comma-separated)")
    parser.add_argument("--repeats", type=int, default=2, help="cold processes per figure")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per process")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    parser.add_argument("--worker", nargs=3, metavar=("PROBLEM", "TOOL", "N"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        problem, tool, n = args.worker
        symhess.ipopt_problem                   # noqa: B018 (touch the public entry point)
        solve = solve_symhess if tool == "symhess" else solve_casadi
        print(json.dumps(solve(problem, int(n))))
        return 0
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rows = []
    for problem, spec in PROBLEMS.items():
        stopped = set()
        for n in (sizes if spec["sized"] else [4]):
            for tool in TOOLS:
                row = (measure(problem, tool, n, args.repeats, args.timeout)
                       if tool not in stopped else {"problem": problem, "n": n, "tool": tool,
                                                    "error": "skipped"})
                rows.append(dict(row, code_lines=sum(code_lines(fn) for fn in spec[tool])))
                if "error" in row:
                    stopped.add(tool)
            if not any("error" in row for row in rows[-2:]):
                same = same_start(rows[-2]["objectives"], rows[-1]["objectives"])
                for row in rows[-2:]:
                    row["same_start"] = "yes" if same else "no"
    info = machine()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nlp.json").write_text(json.dumps({"machine": info, "results": rows}, indent=1))
    (args.out / "nlp.md").write_text(text := markdown(rows, info))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
