"""Did-you-mean for misspelt keys.

difflib alone ranks `lora_alpha` above `lora_alfa`'s real neighbour poorly and misses swapped
words (`size_batch_micro`). We compare normalised names (case, `-` and `_` ignored) with the
optimal-string-alignment distance, which counts a transposition as one edit, and also accept the
same words in another order. A suggestion must be close relative to the key's length, so short
keys do not "correct" to unrelated short keys.
"""

from __future__ import annotations

from collections.abc import Iterable

from wizard.axolotl import keys as K

# Short or guessed names that edit distance cannot tie to the real key.
KNOWN_TYPOS = {
    "lr": K.LEARNING_RATE,
    "epochs": K.NUM_EPOCHS,
    "lora_rank": K.LORA_R,
    "max_seq_length": K.SEQUENCE_LEN,
    "max_seq_len": K.SEQUENCE_LEN,
}


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _words(name: str) -> tuple[str, ...]:
    return tuple(sorted(w for w in name.lower().replace("-", "_").split("_") if w))


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, stopping early once every cell exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _budget(name: str) -> int:
    """How many edits still look like a typo of a key this long."""
    n = len(_norm(name))
    if n <= 4:
        return 1
    if n <= 9:
        return 2
    return 3


def suggest(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The known names `name` is most likely a misspelling of, best first (maybe none)."""
    target, words = _norm(name), _words(name)
    scored: list[tuple[int, int, str]] = []
    for candidate in candidates:
        if candidate == name:
            continue
        norm = _norm(candidate)
        if norm == target or _words(candidate) == words:
            scored.append((0, 0, candidate))
            continue
        budget = min(_budget(name), _budget(candidate))
        distance = osa_distance(target, norm, budget)
        if distance <= budget:
            scored.append((distance, abs(len(norm) - len(target)), candidate))
        elif len(target) >= 6 and (norm.startswith(target) or target.startswith(norm)):
            # A truncated or over-long key (`gradient_accumulation` for `..._steps`).
            scored.append((budget + 1, abs(len(norm) - len(target)), candidate))
    scored.sort()
    return [c for _, _, c in scored[:limit]]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """` (did you mean `x`?)` or an empty string, for appending to a message."""
    found = suggest(name, candidates, limit=1)
    return f" (did you mean `{found[0]}`?)" if found else ""
