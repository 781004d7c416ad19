"""Numbers folded while the array graph is built (`symhess.arrays.graph.Builder`): the value
of a unary or binary primitive of numbers, with NumPy's results at the edges (NaN for the
logarithm of a negative number or a NaN operand of a maximum)."""

import math

import numpy as np

FOLD_UNARY = {"neg": lambda x: -x, "exp": math.exp,
              "log": lambda x: math.log(x) if x > 0 else math.nan,
              "sqrt": lambda x: math.sqrt(x) if x >= 0 else math.nan, "abs": abs,
              "sign": lambda x: float(np.sign(x)), "sin": math.sin, "cos": math.cos,
              "tanh": math.tanh, "square": lambda x: x * x,
              "recip": lambda x: 1.0 / x if x else math.inf}
FOLD_BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
               "div": lambda a, b: float(np.divide(float(a), float(b))),
               "pow": lambda a, b: float(np.power(float(a), float(b))),
               "maximum": np.maximum, "minimum": np.minimum,         # a NaN gives NaN
               "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b,
               "le": lambda a, b: a <= b, "eq": lambda a, b: a == b, "ne": lambda a, b: a != b}
