"""Package discovery, the one thing pyproject.toml cannot say alone.

Every package under ``symhess/`` is found automatically, so a new subpackage is never left out of
the wheel. The ``codegen/`` folder is a package of its own in the repository (it imports nothing
of symhess) and installs as ``symhess.codegen``, so no top-level ``codegen`` lands in
site-packages to collide with other projects.
"""

from setuptools import find_packages, setup

codegen = ["symhess.codegen"] + ["symhess.codegen." + p for p in find_packages(where="codegen")]
setup(
    packages=find_packages(include=["symhess", "symhess.*"]) + codegen,
    package_dir={"symhess.codegen": "codegen"},
)
