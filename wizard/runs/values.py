"""Values read from files the wizard wrote but anyone could edit (manifests, the calibration
file): a value of the wrong type or out of range is None, never an exception. Plain functions:
`estimate` reads the calibration file through them, and a quick verb pays for every class."""

from __future__ import annotations

import math

MAX_TEXT = 200  # a GPU name, an outcome, a model's name: a longer one is not one of ours


def significant(value: float) -> float:
    """Six significant digits: a tiny model's 0.0152 GiB keeps its precision, as an 8B's 18.3."""
    return float(f"{value:.6g}")


def number(value: object, low: float = 0.0, high: float = 1e15) -> float | None:
    """A finite number within [low, high] (a bool is not one), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    result = float(value)
    return result if math.isfinite(result) and low <= result <= high else None


def count(value: object, high: int = 10**12) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        return None
    return value


def text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_TEXT else None


def scalars(raw: object, limit: int = 32) -> dict[str, str | int | float | bool]:
    """The entries of a small mapping whose values are a short text, a number or a bool."""
    if not isinstance(raw, dict):
        return {}
    found: dict[str, str | int | float | bool] = {}
    for key, value in list(raw.items())[:limit]:
        kept = scalar(value)
        if isinstance(key, str) and len(key) <= 40 and kept is not None:
            found[key] = kept
    return found


def scalar(value: object) -> str | int | float | bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= 10**15 else None
    return number(value, -1e15) if isinstance(value, float) else text(value)
