"""How figures read in the tables: times with units, spreads, statuses and ratios."""

from __future__ import annotations


def seconds(value: float) -> str:
    """A time with three significant digits and a unit from ns to s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= 0.9995 * scale:         # 0.9996 s reads "1 s", not "1e+03 ms"
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def spread(stat) -> str:
    """``median [min–max]`` of a summary, or the median alone for a single sample."""
    if not isinstance(stat, dict):
        return stat or "—"
    if stat.get("n", 1) <= 1:
        return seconds(stat["median"])
    return f"{seconds(stat['median'])} [{seconds(stat['min'])}–{seconds(stat['max'])}]"


def status(record: dict) -> str:
    """Why a record has no figures: ``timeout (...)``, ``failed: ...``, ``n/a: ...``."""
    reason = (record.get("reason") or "").replace("|", "/").replace("\n", " ")
    return f"{record['status']}: {reason}" if reason else record["status"]


def ratio(numerator, denominator) -> str:
    """``12x`` (how many times longer ``numerator`` takes), or ``—``."""
    if not numerator or not denominator:
        return "—"
    r = numerator / denominator
    return f"{r:.3g}x" if r < 1000 else f"{r:,.0f}x"


def size(value) -> str:
    """1000000 as ``1e6``; small sizes as they are."""
    if value >= 1000 and value % 10 == 0:
        exponent = len(str(value)) - 1
        if value == 10 ** exponent:
            return f"1e{exponent}"
    return str(value)
