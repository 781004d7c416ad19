"""Progress of a compile: stage timings through `logging`, and a status line on a terminal.

Stages are logged at DEBUG level on the ``symhess`` logger. A compile that has run for more
than `REPORT_AFTER` seconds also reports each later stage at INFO level and, when standard error
is a terminal, on a status line there. ``verbose=True`` (or ``SYMHESS_VERBOSE=1``) reports every
stage from the start, on standard error even when it is not a terminal (one line per stage);
``verbose=False`` (or ``SYMHESS_VERBOSE=0``) never reports.

A stage inside another counts its own time only: the stage times add up to the compile's total,
and whatever ran outside every stage is reported as ``other``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time

logger = logging.getLogger("symhess")
REPORT_AFTER = 2.0


def _verbose_from_env():
    value = os.environ.get("SYMHESS_VERBOSE", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None


class Progress:
    """The stages of one compile of ``name``."""

    def __init__(self, name: str, verbose=None):
        self.name = name
        self.verbose = _verbose_from_env() if verbose is None else verbose
        self.start = time.perf_counter()
        self.times: dict = {}
        self._shown = False       # a status line on a terminal
        self._lines = False       # plain lines, when verbose and standard error is no terminal
        self._inner = [0.0]       # per open stage: the time of the stages inside it

    def _loud(self) -> bool:
        if self.verbose is not None:
            return self.verbose
        return time.perf_counter() - self.start > REPORT_AFTER

    @contextlib.contextmanager
    def stage(self, label: str):
        """Time one stage; report it when the compile is verbose or has become slow."""
        begin = time.perf_counter()
        if self._loud():
            self._status(f"{label}...")
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - begin
            seconds = elapsed - self._inner.pop()
            self._inner[-1] += elapsed
            self.times[label] = self.times.get(label, 0.0) + seconds
            loud = self._loud()
            logger.log(logging.INFO if loud else logging.DEBUG,
                       "%s: %s took %.2f s", self.name, label, seconds)

    def _status(self, text: str):
        if self.verbose is False:
            return
        elapsed = time.perf_counter() - self.start
        if getattr(sys.stderr, "isatty", lambda: False)():
            sys.stderr.write(f"\r[symhess] {self.name}: {text} ({elapsed:.1f} s)\033[K")
            self._shown = True
        elif self.verbose:       # asked for: a plain line each stage (a log file, a CI job)
            sys.stderr.write(f"[symhess] {self.name}: {text} ({elapsed:.1f} s)\n")
            self._lines = True
        else:
            return
        sys.stderr.flush()

    def done(self):
        """Finish the status line and log the total."""
        total = time.perf_counter() - self.start
        other = total - sum(self.times.values())
        if other >= 0.005:
            self.times["other"] = other
        loud = self._loud()
        logger.log(logging.INFO if loud else logging.DEBUG, "%s: compiled in %.2f s (%s)",
                   self.name, total, ", ".join(f"{k} {v:.2f} s" for k, v in self.times.items()))
        if self._shown:
            sys.stderr.write(f"\r[symhess] {self.name}: compiled in {total:.1f} s\033[K\n")
            sys.stderr.flush()
        elif self._lines:
            sys.stderr.write(f"[symhess] {self.name}: compiled in {total:.1f} s\n")
            sys.stderr.flush()
