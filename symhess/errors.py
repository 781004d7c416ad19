"""Every error symhess raises, in one place.

Each message names the value or function involved, says why it failed, and says what to do
instead. Errors derive from the built-in class a user would catch for the same mistake
(``TypeError``, ``ValueError``, ``IndexError``, ``NotImplementedError``) as well as from
`SymhessError`, so ``except ValueError`` keeps working and ``except SymhessError`` catches
everything symhess refuses.
"""


class SymhessError(Exception):
    """Base class of all errors raised by symhess.

    Catch it to handle every mistake symhess refuses; each subclass also derives from the
    built-in exception a plain NumPy program would raise for the same mistake.
    """


class UnsupportedFunctionError(SymhessError, NotImplementedError):
    """A NumPy function or ufunc (or one of its options) has no symbolic rule.

    Rewrite the step with the functions listed by `symhess.supported_functions`.
    """

    def __init__(self, name, detail=""):
        self.name = name
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{name} is not supported by symhess{extra}. The supported NumPy subset is listed "
            "in symhess.supported_functions() and in the README; rewrite the step with those "
            "functions.")


class TracerBoolConversionError(SymhessError, TypeError):
    """Python control flow (``if``, ``while``, ``and``) on a traced value.

    Use ``np.where(cond, a, b)`` for a piecewise value, or mark configuration arguments static
    with ``static_argnums``.
    """

    def __init__(self, value):
        super().__init__(
            f"Python `if`/`while`/`bool()` on a traced value {value}: its truth depends on the "
            "input, so it cannot be decided while tracing. Use np.where(cond, a, b) for a "
            "piecewise value, or mark the argument static with static_argnums if it is "
            "configuration, not data.")


class TracerConversionError(SymhessError, TypeError):
    """A traced value was converted to a concrete number or array (``float(x)``,
    ``math.sin(x)``, ``np.array([x])``).

    Use ``np.*`` functions and ``np.stack``/``np.concatenate`` instead.
    """

    def __init__(self, value, what):
        self.value = value
        super().__init__(
            f"{what} of a traced value {value} is not possible: the value is symbolic while "
            "symhess traces the function. Use np.* functions instead of math.*, build arrays with "
            "np.stack or np.concatenate instead of np.array or item assignment into a float "
            "array, and mark configuration arguments static with static_argnums.")


class TracerIndexError(SymhessError, IndexError):
    """A traced value was used as an index or a shape.

    Indices must be known while tracing: pass them by closure or mark their argument static.
    """

    def __init__(self, value):
        super().__init__(
            f"a traced value {value} was used as an index or size. Indices must be known while "
            "tracing: pass index arrays by closure or mark their argument static with "
            "static_argnums.")


class InputTypeError(SymhessError, TypeError):
    """An argument has a type or dtype that cannot be differentiated or passed to a kernel.

    Also raised when a pytree argument changed structure since it was compiled, when a static
    argument is not hashable, or when the function returns something other than a pytree of
    arrays or numbers. Pass NumPy arrays or numbers of a numeric dtype, or mark configuration
    arguments static with ``static_argnums``.
    """


class ArgumentCountError(SymhessError, TypeError):
    """A compiled object was called with other arguments than those it was compiled for.

    Also raised when a function returned by `symhess.hvp` is called without the tangent ``v``
    after the arguments. Pass the same arguments as at compile time, or call the function
    symhess returned, which compiles for each new signature.
    """


class OptionValueError(SymhessError, ValueError):
    """An option of a transform has a value it does not accept, or one that conflicts with
    another option or with how the function was called.

    Raised by `symhess.hessian`, `symhess.hvp`, `symhess.check` and ``HessianFunction.block``
    for, e.g., an ``argnums`` that names a missing, repeated or static argument, an unknown
    ``target`` or ``against``, or ``sparse=`` combined with ``batch_axis=``. The message names
    the option and its value and lists the accepted values: change the option.
    """


class OptionTypeError(SymhessError, TypeError):
    """An option of a transform has the wrong type: ``argnums`` or ``static_argnums`` that is
    not an int or a tuple of ints, a ``fun`` that is not callable, a ``batch_axis`` that is not
    an int, ``in_axes`` that is not a tuple, or block ``rows`` that are not a slice or range.

    The message names the option and the value passed; pass a value of the stated type.
    """


class ArgumentValueError(SymhessError, ValueError):
    """An argument's value does not fit the compiled signature: a batched argument without its
    batch axis or with another point count than the others, an ``out=`` array of the wrong
    shape, dtype or layout, an hvp tangent ``v`` whose structure or shape differs from the
    differentiated arguments, values the traced expressions cannot be evaluated at, or more
    leaves than a pytree's structure holds.

    The message names the argument, its shape and the expected one: pass an argument of that
    shape (or change ``batch_axis``/``in_axes`` to match the data).
    """


class OutputShapeError(SymhessError, ValueError):
    """The function's output does not have the shape the transform needs: `symhess.hvp` and
    ``sparse=`` Hessians need a function with one scalar output.

    Reduce the output to a scalar (for example with ``.sum()``), or use `symhess.hessian`,
    which takes any output shape.
    """


class BlockIndexError(SymhessError, IndexError):
    """``HessianFunction.block(i, j)`` names a block outside the Hessian: ``i`` or ``j`` is not
    the index of a differentiated leaf.

    Leaves are counted over the arguments in ``argnums`` order and each pytree's leaves in
    pytree order; the message says how many there are. Pass an index in that range.
    """


class OperandError(SymhessError, ValueError):
    """A NumPy function in the traced (or cross-checked) function got an operand it does not
    take: a 0-d operand of ``np.matmul``, a non-square matrix for ``np.linalg``, a reduction over
    an empty axis, or a differentiated value kept from an earlier call.

    NumPy itself refuses these operands; fix the shape in the function, and do not keep
    differentiated values between calls.
    """


class OperandTypeError(SymhessError, TypeError):
    """A value in the traced (or cross-checked) function has a type the operation cannot take:
    a non-numeric constant mixed with traced values, ``len()`` of a 0-d array, a differentiated
    value used as an index or converted to a Python number, or a special function called with
    the wrong number of operands.

    Use numbers and numeric arrays, ``np.*`` functions instead of ``math.*``, constant indices,
    and ``np.where`` instead of a Python ``if``.
    """


class CacheError(SymhessError, ValueError):
    """The kernel cache refused a folder or an entry: the configured folder (or its
    ``__pycache__``) is a link or owned by another user, or a cache key does not match its
    source.

    Nothing was removed or loaded. Point ``SYMHESS_CACHE_DIR`` at a folder of your own with mode
    ``0700``, or remove the offending folder by hand.
    """


class ExportError(SymhessError, ValueError):
    """A Hessian cannot be exported as asked: the function name is not a valid identifier or is
    taken by the generated module, the file name does not end in ``.py`` or ``.c``, or a complex
    Hessian was exported to C.

    The message names the value; choose another name or suffix, or export a complex Hessian as a
    ``.py`` module.
    """


class MissingDependencyError(SymhessError, ImportError):
    """An optional package an option needs is not installed, such as jax for
    ``symhess.check(..., against="jax")``.

    Install the package named in the message, or choose an option that does not need it.
    """


class InternalError(SymhessError, RuntimeError):
    """symhess found one of its own invariants broken (for example a kernel whose outputs do not
    match its layout).

    This is a bug in symhess, not in your function: please report it with the function and the
    argument shapes that trigger it.
    """


class KernelMemoryError(SymhessError, MemoryError):
    """A kernel would need more memory for its intermediate arrays than symhess allows one kernel.

    The message gives the estimate and the limit; a Hessian-vector product (`symhess.hvp`) or
    one block (`HessianFunction.block`) needs far less than the whole Hessian.
    """


class ArrayTierUnsupported(SymhessError, NotImplementedError):
    """The array tier (`symhess.arrays`) has no rule for something the function does.

    Internal to the choice of tier: with ``tier="auto"`` the scalar tier then compiles the
    function; with ``tier="array"`` it becomes an `UnsupportedFunctionError` naming it.
    """


class ExpressionGrowthError(SymhessError, RuntimeError):
    """A second derivative grew far beyond the function's own expression (deep nesting).

    Use an automatic differentiation tool for this function, or pass intermediate results as
    inputs to break the nesting.
    """

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
    """``strict=True`` and a differentiated input has no effect on the output.

    Drop the input from ``argnums``, or pass ``strict=False`` to get its zero blocks.
    """


class HasAuxError(SymhessError, TypeError):
    """``has_aux=True`` but the function did not return an (output, aux) pair.

    Return ``(output, aux)``, or drop ``has_aux=True``.
    """


class CheckError(SymhessError, AssertionError):
    """The cross-check found a Hessian entry (or a traced value) outside tolerance.

    ``.report`` has the details; the message says which entry and which side is suspect.
    """

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report
