"""Reliability: inputs and functions that once gave wrong numbers or unclear errors.

Every result is compared with an independent reference (a closed form or JAX); every error is
checked for the class and for the words that name the value and the fix.
"""

import numpy as np
import pytest

import symhess
from symhess import errors, pytree


# --- dict keys that print alike -----------------------------------------------------------------
def test_distinct_nan_keys_are_distinct_leaves():
    k1, k2 = float("nan"), float("nan")
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    d = {k1: a, k2: b}
    leaves, tree = pytree.flatten(d)
    first = leaves[0] is a          # NaN keys keep insertion order when sorted
    x, y = (k1, k2) if first else (k2, k1)

    def f(p):
        return np.sum(p[x] ** 2) + np.sum(p[y] ** 3)
    H = symhess.hessian(f)(d)
    px, py = d[x], d[y]
    np.testing.assert_array_equal(H[x][x], np.diag(2.0 + 0 * px))
    np.testing.assert_array_equal(H[y][y], np.diag(6.0 * py))
    np.testing.assert_array_equal(H[x][y], np.zeros((len(px), len(py))))
    assert len(set(tree.paths())) == 2


def test_paths_are_unique_per_leaf_whatever_the_keys():
    class Key:
        def __init__(self, n):
            self.n = n

        def __lt__(self, other):
            return self.n < other.n

        def __repr__(self):
            return "key"
    tree = pytree.flatten({Key(1): 1.0, Key(2): {Key(3): 2.0, Key(4): 3.0}, Key(5): 4.0})[1]
    paths = tree.paths()
    assert len(set(paths)) == len(paths) == 4
