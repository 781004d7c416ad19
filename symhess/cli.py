"""The ``symhess`` command line: show, export and check the Hessian of a function in a module.

    symhess show module:function --shape 3,3 [--latex] [--ascii] [--expanded]
    symhess export module:function --shape 3,3 -o energy_hessian.c [--name NAME]
    symhess check module:function --shape 3,3 [--seed 0]
    symhess demo
    symhess cache info|clear

``module`` is an importable module name or the path of a ``.py`` file; ``function`` may be a
dotted attribute path. ``--shape`` is given once per positional argument: ``3,3`` for a 3x3
array, ``""`` or ``scalar`` for a 0-d one. The function is traced at a random point with
entries uniform in ``[--low, --high]`` (default 0.5 to 1.5). Errors are one line on stderr and a
non-zero exit status. ``check`` uses the first random point where the function is finite.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import math
import os
import re
import shutil
import sys
from pathlib import Path


class CommandError(Exception):
    """A mistake in the command line: printed as one line, without a traceback."""


def parse_shape(text: str) -> tuple:
    """``"3,3"`` -> ``(3, 3)``; ``""`` or ``"scalar"`` -> ``()``; ``3x3`` and ``3 3`` work too."""
    text = text.strip()
    if text in ("", "scalar", "()"):
        return ()
    parts = [p for p in re.split(r"[,x\s]+", text.strip("()")) if p]
    if not parts or not all(re.fullmatch(r"[0-9]+", p) for p in parts):
        raise CommandError(f"bad --shape {text!r}: expected comma-separated non-negative "
                           "integers such as 3,3, or 'scalar' for a 0-d argument")
    return tuple(int(p) for p in parts)


def load_function(target: str):
    """The function named by ``module:function`` or ``path/to/file.py:function``."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise CommandError(f"{target!r} is not module:function (for example energy.py:energy "
                           "or mypackage.models:energy)")
    if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise CommandError(f"no such file: {module_name}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None:
            raise CommandError(f"cannot import {module_name}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))      # so the file can import its siblings
        with _importing(module_name):
            spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())        # as `python -m` does: modules in the cwd
        with _importing(module_name):
            module = importlib.import_module(module_name)
    fun = module
    for part in attr.split("."):
        if not hasattr(fun, part):
            raise CommandError(f"{module_name} has no function {attr!r}")
        fun = getattr(fun, part)
    if not callable(fun):
        raise CommandError(f"{module_name}:{attr} is a {type(fun).__name__}, not a function")
    return fun


@contextlib.contextmanager
def _importing(module_name):
    """Errors raised while a module is imported, as one line naming the module."""
    try:
        yield
    except ModuleNotFoundError as e:
        raise CommandError(f"no module named {e.name!r} (while importing {module_name}); "
                           "give an importable module or a path to a .py file") from None
    except SystemExit as e:        # a script without `if __name__ == "__main__":`
        raise CommandError(f"importing {module_name} called sys.exit({e.code!r}): put its "
                           "script part under `if __name__ == \"__main__\":`") from None
    except Exception as e:
        raise CommandError(f"importing {module_name} failed: {type(e).__name__}: {e}") from None


RANDOM_POINTS = 20


def _arguments(args, finite=False):
    """The function, and a random point with one array per ``--shape``.

    With ``finite=True`` the point is the first of `RANDOM_POINTS` random draws where the
    function's value is finite: a check at a point outside its domain compares NaN with NaN.
    """
    import numpy as np

    if not (math.isfinite(args.low) and math.isfinite(args.high) and args.low < args.high):
        raise CommandError(f"--low {args.low} --high {args.high}: the bounds of the random "
                           "point must be finite numbers with low < high")
    fun = load_function(args.target)
    shapes = [parse_shape(s) for s in args.shape]
    rng = np.random.default_rng(args.seed)

    def draw():
        return [rng.uniform(args.low, args.high, size=s) if s
                else np.float64(rng.uniform(args.low, args.high)) for s in shapes]

    point = draw()
    try:
        inspect.signature(fun).bind(*point)
    except TypeError as e:
        raise CommandError(f"{args.target} cannot take {len(point)} positional argument(s) "
                           f"(one per --shape): {e}") from None
    except ValueError:           # no signature (a builtin): let the call decide
        pass
    if finite:
        for _ in range(RANDOM_POINTS):
            with np.errstate(all="ignore"):
                value = fun(*point)
            try:
                if np.all(np.isfinite(np.asarray(value, dtype=complex))):
                    break
            except (TypeError, ValueError):     # a pytree output: let the check look at it
                break
            point = draw()
        else:
            raise CommandError(f"{args.target} is not finite at {RANDOM_POINTS} random points "
                               f"with entries in [{args.low}, {args.high}]; choose another "
                               "range with --low and --high")
    return fun, point


def _argnums(text: str):
    try:
        nums = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise CommandError(f"bad --argnums {text!r}: expected an int or ints separated by commas") from None
    return nums[0] if len(nums) == 1 else nums


def _compile(args):
    import symhess

    fun, point = _arguments(args)
    return symhess.hessian(fun, argnums=_argnums(args.argnums)).compile(*point)


def _show(args) -> int:
    from . import inspect as closed_form

    c = _compile(args)
    named = not args.expanded
    if args.latex:
        print("% The Hessian is symmetric: only its upper triangle is printed"
              + (", after the common subexpressions it uses." if named else "."))
        print(closed_form.latex(c, cse=named))
    else:
        columns = shutil.get_terminal_size().columns
        print(closed_form.pretty(c, use_unicode=not args.ascii, num_columns=columns, cse=named))
    return 0


def _export(args) -> int:
    c = _compile(args)
    if Path(args.output).suffix not in (".py", ".c"):
        raise CommandError(f"-o {args.output}: the file name must end in .py or .c")
    written = c.save(args.output, name=args.name)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _check(args) -> int:
    import symhess

    fun, point = _arguments(args, finite=True)
    try:
        report = symhess.check(fun, *point, argnums=_argnums(args.argnums), against=args.against)
    except symhess.CheckError as e:
        if e.report is not None:
            print(e.report)
        raise CommandError("the Hessian disagrees with the reference: " + str(e).split("\n")[0]) from None
    print(report)
    return 0


def _demo(args) -> int:
    from .demo import run
    run()
    return 0


def _cache(args) -> int:
    from . import cache
    if args.action == "clear":
        try:
            removed = cache.clear()
        except ValueError as e:
            raise CommandError(str(e)) from None
        print(f"removed {len(removed)} file(s) from {cache.cache_dir()}")
        return 0
    i = cache.info()
    print(f"folder: {i['folder']}" + (f" (not used: {i['reason']})" if i["reason"] else ""))
    print(f"entries: {i['entries']} ({i['current']} of this symhess), {i['bytes'] / 2 ** 20:.1f} MB "
          f"of at most {i['max_bytes'] / 2 ** 20:.0f} MB (SYMHESS_CACHE_MAX_MB)")
    print(f"temporary files left by killed processes: {i['orphans']}")
    return 0


def _parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = argparse.ArgumentParser(prog="symhess", description="symbolic Hessian compiler")
    parser.add_argument("--version", action="version", version=f"symhess {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def function_command(name, help, run):
        p = sub.add_parser(name, help=help)
        p.add_argument("target", help="module:function or path/to/file.py:function")
        p.add_argument("--shape", action="append", default=[],
                       help="shape of one positional argument, e.g. 3,3 or scalar (once per argument)")
        p.add_argument("--argnums", default="0", help="arguments to differentiate, e.g. 0 or 0,1")
        p.add_argument("--seed", type=int, default=0, help="seed of the random point")
        p.add_argument("--low", type=float, default=0.5, help="lower bound of the random point")
        p.add_argument("--high", type=float, default=1.5, help="upper bound of the random point")
        p.set_defaults(run=run)
        return p

    show = function_command("show", "print the closed-form Hessian", _show)
    show.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    show.add_argument("--ascii", action="store_true", help="plain ASCII text, no Unicode")
    show.add_argument("--expanded", action="store_true",
                      help="each entry in full, without naming common subexpressions (long)")
    export = function_command("export", "write standalone .py (NumPy + Numba) or .c code", _export)
    export.add_argument("-o", "--output", required=True, help="out.py or out.c (writes out.h too)")
    export.add_argument("--name", default=None, help="name of the generated function")
    check = function_command("check", "cross-check the Hessian at a random point", _check)
    check.add_argument("--against", default="autodiff", choices=("autodiff", "jax"),
                       help="the independent reference")
    sub.add_parser("demo", help="compile a Hessian, print its closed form and time it").set_defaults(run=_demo)
    cache = sub.add_parser("cache", help="show (info) or empty (clear) the kernel cache folder")
    cache.add_argument("action", choices=("info", "clear"))
    cache.set_defaults(run=_cache)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``symhess`` command; returns the exit status.

    >>> main(["show", "math:nothing", "--shape", "2"])    # prints the cause on stderr
    1
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:      # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except CommandError as e:
        _error(args.command, str(e))
    except Exception as e:       # one line naming the cause; the traceback helps only developers
        _error(args.command, f"{type(e).__name__}: {e}")
    return 1


def _error(command, message):
    print(f"symhess {command}: " + " ".join(str(message).split()), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
