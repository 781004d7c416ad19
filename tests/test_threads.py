"""Threads: concurrent traces never read each other's context, and one compile per signature.

Each trace runs under a context (dtype, holomorphy, the element sums of lazy gathers) that must
belong to its own thread. Every result below is compared with JAX's Hessian and with the
answer computed by one thread alone.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import symhess
from symhess.trace import current_context, trace_context


def chain(xp, c):
    """A chain energy whose gathers of 299 rows trace lazily (element sums in the context)."""
    return lambda x: xp.sum(c * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def waves(xp, c):
    """A small unrolled function whose constants must be rounded to the input's dtype."""
    return lambda x: xp.sum(xp.sin(c * x) * x ** 2) + c * x[0] * x[-1] ** 3


CASES = [(make, c, dtype, n)
         for make, n in [(chain, 300), (waves, 5)]
         for c in (1.5, 2.5, 100.0)
         for dtype in (np.float64, np.float32)]


def point(dtype, n):
    return np.linspace(0.5, 1.5, n).astype(dtype)


@pytest.fixture
def assert_right(jax, jnp):
    """``assert_right(got, make, c, x)``: ``got`` has ``x``'s dtype and JAX's float64 Hessian at
    the (rounded) point ``x``, within the tolerance of that dtype."""
    def check(got, make, c, x):
        tol = dict(rtol=2e-4, atol=2e-3) if x.dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
        assert got.dtype == x.dtype
        expected = np.asarray(jax.hessian(make(jnp, c))(jnp.asarray(x, dtype=jnp.float64)))
        np.testing.assert_allclose(got, expected, **tol)
    return check


def run_together(tasks, threads):
    """Run the callables all at once (a barrier releases them together); their results."""
    barrier = threading.Barrier(min(threads, len(tasks)))

    def go(task):
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass
        return task()
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(go, tasks))


def test_the_trace_context_belongs_to_its_thread():
    seen = {}
    inside = threading.Event()
    leave = threading.Event()

    def other():
        with trace_context(np.float32, True, {}):
            inside.set()
            leave.wait(10)
            seen["other"] = current_context()

    t = threading.Thread(target=other)
    t.start()
    inside.wait(10)
    seen["main"] = current_context()          # while the other thread is inside its trace
    leave.set()
    t.join()
    assert seen["main"].dtype == np.float64 and not seen["main"].holomorphic
    assert seen["main"].sums is None
    assert seen["other"].dtype == np.float32 and seen["other"].holomorphic


@pytest.mark.attack("threads compiling at once")
def test_threads_compiling_different_and_identical_functions(attempts, assert_right):
    # single-threaded answers first
    alone = {}
    for make, c, dtype, n in CASES:
        x = point(dtype, n)
        alone[make, c, dtype] = symhess.hessian(make(np, c))(x)
        assert_right(alone[make, c, dtype], make, c, x)
    # then every case twice at once: through one shared function (identical signatures) and
    # through a fresh one (its own trace), in eight threads
    shared = {(make, c): symhess.hessian(make(np, c)) for make, c, _, _ in CASES}
    tasks = []
    for make, c, dtype, n in CASES:
        x = point(dtype, n)
        tasks.append((make, c, dtype, x, lambda make=make, c=c, x=x: shared[make, c](x)))
        tasks.append((make, c, dtype, x, lambda make=make, c=c, x=x: symhess.hessian(make(np, c))(x)))
    results = run_together([t[-1] for t in tasks], threads=8)
    wrong = [f"{make.__name__}(c={c}, {np.dtype(dtype)})" for (make, c, dtype, x, _), got
             in zip(tasks, results) if not np.array_equal(got, alone[make, c, dtype])]
    attempts(len(tasks), len(tasks) - len(wrong))
    assert not wrong, f"differ from the single-threaded answer: {wrong}"
    for (make, c, dtype, x, _), got in zip(tasks, results):
        assert_right(got, make, c, x)


def test_one_signature_compiles_once_across_threads(monkeypatch, assert_right):
    H = symhess.hessian(waves(np, 3.5))
    builds = []
    build = H._checked_build

    def counted(*args, **kwargs):
        builds.append(threading.get_ident())
        return build(*args, **kwargs)
    monkeypatch.setattr(H, "_checked_build", counted)
    x = point(np.float64, 7)
    compiled = run_together([lambda: H.compile(x)] * 8, threads=8)
    assert len(builds) == 1
    assert all(c is compiled[0] for c in compiled)
    assert_right(compiled[0](x), waves, 3.5, x)


def _hammer(H, xs, calls, threads, assert_right):
    """Each thread calls ``H`` ``calls`` times on its own point and compares every result with
    the single-threaded one; the number of calls that differed, per thread."""
    alone = [H(x) for x in xs[:threads]]
    for x, expected in zip(xs, alone):
        assert_right(expected, waves, 1.5, x)

    def work(x, expected):
        return sum(not np.array_equal(H(x), expected) for _ in range(calls))
    return run_together([lambda x=x, e=e: work(x, e) for x, e in zip(xs, alone)], threads)


def _calls_of_one_kernel(calls, attempts, assert_right):
    H = symhess.hessian(waves(np, 1.5))
    xs = [np.linspace(0.1 * k, 1.0 + 0.1 * k, 5) for k in range(8)]
    wrong = sum(_hammer(H, xs, calls=calls, threads=8, assert_right=assert_right))
    attempts(8 * calls, 8 * calls - wrong)
    assert wrong == 0, f"{wrong} of {8 * calls} calls gave another Hessian than one thread alone"


@pytest.mark.attack("8 threads calling one compiled Hessian")
def test_threads_calling_one_compiled_hessian(attempts, assert_right):
    _calls_of_one_kernel(2000, attempts, assert_right)


@pytest.mark.slow
@pytest.mark.attack("8 threads calling one compiled Hessian")
def test_threads_calling_one_compiled_hessian_100k_times(attempts, assert_right):
    _calls_of_one_kernel(100_000, attempts, assert_right)


@pytest.mark.slow
@pytest.mark.attack("4 threads compiling different functions")
def test_threads_compiling_different_functions_in_rounds(attempts, assert_right):
    """5 rounds, fresh constants each: every result is JAX's."""
    tried = wrong = 0
    for round in range(5):
        cases = [(make, 7.0 + round + 0.25 * k, dtype, n) for k, (make, n, dtype) in enumerate(
            [(chain, 300, np.float64), (chain, 300, np.float32), (waves, 6, np.float64),
             (waves, 6, np.float32)])]
        results = run_together([lambda make=make, c=c, d=d, n=n: symhess.hessian(make(np, c))(point(d, n))
                                for make, c, d, n in cases], threads=4)
        for (make, c, dtype, n), got in zip(cases, results):
            tried += 1
            try:
                assert_right(got, make, c, point(dtype, n))
            except AssertionError:
                wrong += 1
    attempts(tried, tried - wrong)
    assert wrong == 0, f"{wrong} of {tried} compiles in threads were wrong"
