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
from .hvp import HVPFunction, hvp
from .primitives import supported_functions
from .check import CheckReport, check
from . import export


def _initialize_numba():
    """Build Numba's CPU target at import rather than inside the first Hessian call.

    Every kernel, compiled or loaded from the disk cache, needs it (about 0.3 s once per
    process); doing it here keeps that fixed cost out of the first call's latency.
    """
    try:
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()
    except Exception:       # a Numba without this internal API initialises on first use
        pass


_initialize_numba()

__all__ = [
    "hessian", "HessianFunction", "hvp", "HVPFunction", "check", "CheckReport", "CompiledHessian",
    "supported_functions", "SymhessError",
    "CheckError", "HasAuxError", "InputTypeError", "StrictModeError", "TracerBoolConversionError",
    "TracerConversionError", "TracerIndexError", "UnsupportedFunctionError",
]
