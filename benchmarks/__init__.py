"""Benchmarks: symhess side by side with the Hessian tools a user would pick instead.

Each problem is written once against an array namespace (`benchmarks.xp`), so JAX, PyTorch,
CasADi, SymEngine, SymPy and symhess all differentiate the same mathematics. Every
(problem, tool, size) is measured in its own subprocess with a timeout (`benchmarks.worker`),
orchestrated by `benchmarks.runner`, and reported as Markdown, JSON and PNG plots
(`benchmarks.report`, `benchmarks.plots`). Run ``python -m benchmarks --help``.
"""
