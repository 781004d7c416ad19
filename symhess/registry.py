"""Rule tables: the one decorator every table of rules registers through.

The symbolic primitives (`symhess.primitives`), the array tier (`symhess.arrays.numpy_rules`)
and the autodiff (`symhess.autodiff`) each keep their own rules in their own tables; only the
act of putting a rule in a table is shared.
"""

from __future__ import annotations


def registrar(table: dict, real_keys: set = None):
    """``register(*keys, real_only=False)``: a decorator putting its rule in ``table`` under
    each key; with ``real_only=True`` the keys also go into the set ``real_keys`` (rules for
    real inputs only).

    >>> RULES, REAL = {}, set()
    >>> rule = registrar(RULES, REAL)
    >>> @rule("exp", "exp2", real_only=True)
    ... def exponential(x):
    ...     return x
    >>> sorted(RULES), sorted(REAL)
    (['exp', 'exp2'], ['exp', 'exp2'])
    """
    def register_under(*keys, real_only: bool = False):
        def register(rule):
            for key in keys:
                table[key] = rule
                if real_only:
                    real_keys.add(key)
            return rule
        return register
    return register_under
