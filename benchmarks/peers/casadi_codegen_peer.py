"""CasADi's C code generation: ``CodeGenerator`` + gcc -O2 + ``casadi.external``.

The shared library is kept in the cache folder, keyed by problem and size, so a fresh process
with that folder loads it without generating or compiling (the natural cache of this route).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from . import NotApplicable
from .casadi_peer import hessian_function, mapped_call, single_call

NAME = "casadi-codegen"
DENSE = False
CACHE = "disk"
CFLAGS = ("-O2", "-shared", "-fPIC")


def version() -> str:
    import casadi
    if shutil.which("gcc") is None:
        raise ImportError("no gcc on PATH")
    return casadi.__version__


def _compiled(problem, args, cache_dir):
    import casadi as ca
    if not cache_dir:
        raise NotApplicable("needs a cache folder for the generated library")
    shapes = "_".join("x".join(map(str, np.shape(a))) or "s" for a in args)
    stem = f"{problem.name.replace('-', '_')}_{shapes}"
    library = os.path.join(cache_dir, "casadi", stem + ".so")
    if not os.path.exists(library):
        os.makedirs(os.path.dirname(library), exist_ok=True)
        generator = ca.CodeGenerator(stem + ".c")
        generator.add(hessian_function(problem, args))
        generator.generate(os.path.dirname(library) + os.sep)
        source = library[:-3] + ".c"
        subprocess.run(["gcc", *CFLAGS, source, "-o", library + ".tmp", "-lm"], check=True,
                       capture_output=True)
        os.replace(library + ".tmp", library)   # never leave a half-written library behind
    return ca.external("hessian", library)


def build(problem, args, cache_dir, sparse=False):
    return single_call(_compiled(problem, args, cache_dir), args)


def build_batched(problem, batch_args, cache_dir):
    point = [a[0] for a in batch_args]
    return mapped_call(_compiled(problem, point, cache_dir), batch_args)
