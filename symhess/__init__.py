"""symhess: a symbolic-plus-numeric Hessian compiler for NumPy functions.

>>> import numpy as np, symhess
>>> symhess.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 3.0]))
array([[6., 2.],
       [2., 0.]])

The public names load on first use (PEP 562), so ``import symhess`` and ``symhess --help`` cost
milliseconds; the first of them to load starts Numba's CPU target.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

from .version import __version__

from .errors import (ArgumentValueError, CheckError, HasAuxError, InputTypeError, StrictModeError,
                     SymhessError, TracerBoolConversionError, TracerConversionError,
                     TracerIndexError, UnsupportedFunctionError)

if TYPE_CHECKING:      # what type checkers and IDEs see; at run time these load lazily
    from . import export
    from .api import HessianFunction, check, hessian
    from .derivatives import (DerivativeFunction, grad, jacobian, value_and_grad,
                              value_grad_hessian)
    from .crosscheck import CheckReport
    from .runtime import CompiledHessian
    from .hvp import HVPFunction, hvp
    from .primitives import supported_functions
    from .optimize import ipopt_problem, lagrangian_hessian, nonlinear_constraint

# public name -> the module that defines it
_LAZY = {
    "hessian": "api", "HessianFunction": "api", "CompiledHessian": "runtime",
    "hvp": "hvp", "HVPFunction": "hvp", "check": "api", "CheckReport": "crosscheck",
    "supported_functions": "primitives",
    "grad": "derivatives", "value_and_grad": "derivatives", "jacobian": "derivatives",
    "value_grad_hessian": "derivatives", "DerivativeFunction": "derivatives",
    "lagrangian_hessian": "optimize", "nonlinear_constraint": "optimize",
    "ipopt_problem": "optimize",
}
_SUBMODULES = {"export", "optimize"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module("." + _LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module("." + name, __name__)
    else:
        raise AttributeError(f"module 'symhess' has no attribute {name!r}")
    globals()[name] = value          # the next access is a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


class _Package(types.ModuleType):
    """symhess itself. ``symhess.hvp`` is a function named like the module that defines it;
    importing that module must not replace the function."""

    def __setattr__(self, name, value):
        if not (isinstance(value, types.ModuleType) and _LAZY.get(name) == name):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "hessian", "HessianFunction", "hvp", "HVPFunction", "check", "CheckReport", "CompiledHessian",
    "grad", "value_and_grad", "jacobian", "value_grad_hessian", "DerivativeFunction",
    "lagrangian_hessian", "nonlinear_constraint", "ipopt_problem",
    "supported_functions", "SymhessError",
    "ArgumentValueError", "CheckError", "HasAuxError", "InputTypeError", "StrictModeError",
    "TracerBoolConversionError", "TracerConversionError", "TracerIndexError",
    "UnsupportedFunctionError",
]
