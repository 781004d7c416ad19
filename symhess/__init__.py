"""symhess: a symbolic-plus-numeric Hessian compiler for NumPy functions.

>>> import numpy as np, symhess
>>> symhess.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 3.0]))
array([[6., 2.],
       [2., 0.]])
"""

__version__ = "0.1.0"

from .errors import (CheckError, HasAuxError, InputTypeError, StrictModeError, SymhessError,
                     TracerBoolConversionError, TracerConversionError, TracerIndexError,
                     UnsupportedFunctionError)
from .api import HessianFunction, hessian
from .compiler import CompiledHessian
from .primitives import supported_functions

__all__ = [
    "hessian", "HessianFunction", "CompiledHessian", "supported_functions", "SymhessError",
    "CheckError", "HasAuxError", "InputTypeError", "StrictModeError", "TracerBoolConversionError",
    "TracerConversionError", "TracerIndexError", "UnsupportedFunctionError",
]
