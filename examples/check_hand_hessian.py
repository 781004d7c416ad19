"""Checking a hand-written Hessian with `symhess.check`.

The log-sum-exp function f(x) = log(sum(exp(x))) has the Hessian diag(p) - p p^T with
p = softmax(x). `symhess.check` compares a hand-written Hessian with an independent automatic
differentiation, entry by entry, and raises `symhess.CheckError` naming the worst entry when
they disagree: here a classic slip, a plus sign on the outer product.

Run: ``python examples/check_hand_hessian.py``.
"""

import numpy as np

import symhess


def logsumexp(x):
    return np.log(np.sum(np.exp(x)))


def hand_hessian(x):
    p = np.exp(x - np.max(x))
    p /= p.sum()
    return np.diag(p) - np.outer(p, p)


def wrong_hessian(x):
    p = np.exp(x - np.max(x))
    p /= p.sum()
    return np.diag(p) + np.outer(p, p)


def main(small: bool = False) -> dict:
    """Check the right and the wrong hand-written Hessians; return both outcomes."""
    x = np.random.default_rng(0).normal(size=4 if small else 20)
    good = symhess.check(logsumexp, x, hessian=hand_hessian)
    print(good)
    try:
        symhess.check(logsumexp, x, hessian=wrong_hessian)
    except symhess.CheckError as error:
        bad = error
        print("the wrong Hessian is caught:", str(error).splitlines()[0])
    else:
        raise AssertionError("the wrong Hessian passed the check")
    return {"x": x, "good": good, "bad": bad}


if __name__ == "__main__":
    main()
