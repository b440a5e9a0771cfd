"""Writing one generated file of the repository, and saying which (the `gen_*` scripts that
render a page or a module from the code: `python scripts/gen_NAME.py`)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_generated(out: Path, text: str) -> int:
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0
