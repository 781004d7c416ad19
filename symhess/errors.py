"""Every error symhess raises, in one place.

Each message names the value or function involved, says why it failed, and says what to do
instead. Errors derive from the built-in class a user would catch for the same mistake
(``TypeError``, ``ValueError``, ``NotImplementedError``) as well as from `SymhessError`.
"""


class SymhessError(Exception):
    """Base class of all errors raised by symhess."""


class UnsupportedFunctionError(SymhessError, NotImplementedError):
    """A NumPy function or ufunc has no symbolic rule."""

    def __init__(self, name, detail=""):
        self.name = name
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{name} is not supported by symhess{extra}. The supported NumPy subset is listed "
            "in symhess.supported_functions() and in the README; rewrite the step with those "
            "functions.")


class TracerBoolConversionError(SymhessError, TypeError):
    """Python control flow (``if``, ``while``, ``and``) on a traced value."""

    def __init__(self, value):
        super().__init__(
            f"Python `if`/`while`/`bool()` on a traced value {value}: its truth depends on the "
            "input, so it cannot be decided while tracing. Use np.where(cond, a, b) for a "
            "piecewise value, or mark the argument static with static_argnums if it is "
            "configuration, not data.")


class TracerConversionError(SymhessError, TypeError):
    """A traced value was converted to a concrete number or array."""

    def __init__(self, value, what):
        super().__init__(
            f"{what} of a traced value {value} is not possible: the value is symbolic while "
            "symhess traces the function. Use np.* functions instead of math.*, build arrays with "
            "np.stack or np.concatenate instead of np.array or item assignment into a float "
            "array, and mark configuration arguments static with static_argnums.")


class TracerIndexError(SymhessError, IndexError):
    """A traced value was used as an index or a shape."""

    def __init__(self, value):
        super().__init__(
            f"a traced value {value} was used as an index or size. Indices must be known while "
            "tracing: pass index arrays by closure or mark their argument static with "
            "static_argnums.")


class InputTypeError(SymhessError, TypeError):
    """An argument has a type or dtype that cannot be differentiated or passed to a kernel."""


class ArgumentCountError(SymhessError, TypeError):
    """A compiled object was called with other arguments than those it was compiled for."""


class ExpressionGrowthError(SymhessError, RuntimeError):
    """A second derivative grew far beyond the function's own expression (deep nesting)."""

    def __init__(self, size, limit, function="the function"):
        self.size, self.limit, self.function = size, limit, function
        super().__init__(
            f"the Hessian of {function} grows far beyond the function itself: one second "
            f"derivative reached {size} terms and factors (limit {limit}), as deeply nested "
            "compositions (f(f(f(...))) hundreds deep) do in symbolic form, and compiling it "
            "would take minutes and gigabytes. Compute this Hessian with an automatic "
            "differentiation tool (jax.hessian), or break the nesting: pass intermediate "
            "results as inputs, or differentiate fewer levels at once.")

    def named(self, function):
        """The same error, naming ``function``."""
        return ExpressionGrowthError(self.size, self.limit, function)


class StrictModeError(SymhessError, ValueError):
    """``strict=True`` and a differentiated input has no effect on the output."""


class HasAuxError(SymhessError, TypeError):
    """``has_aux=True`` but the function did not return an (output, aux) pair."""


class CheckError(SymhessError, AssertionError):
    """The cross-check found a Hessian entry outside tolerance; ``.report`` has the details."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report
