"""Convert the package's YAML data files to the JSON the wizard reads at run time:

    python scripts/gen_package_data.py            write every JSON that is missing or stale
    python scripts/gen_package_data.py --check    only say which are, exit 1 if any

Each `wizard/<...>/<name>.yaml` below gets a committed `<name>.json` beside it, read by
`yamlio.package_data`. The YAML is the one source people edit (it has comments and sources);
`tests/test_package_data.py` fails when a JSON is stale, so an edit reaches it in the same
commit. JSON parses some thirty times faster than libyaml, and unlike a cache in the user's home
it is written by no command and cannot outlive the text it was made from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wizard"
# The data files read with `yamlio.package_data`, relative to the package.
DATA = (
    "models/catalog.yaml",
    "models/families.yaml",
    "lint/data/inventory-*.yaml",
    "estimate/checked.yaml",
    "gpus/gpus.yaml",
    "recipes/recipes.yaml",
)


def sources() -> list[Path]:
    return sorted(path for pattern in DATA for path in PACKAGE.glob(pattern))


def target(source: Path) -> Path:
    return source.with_suffix(".json")


def converted(source: Path) -> str:
    """The JSON text of a YAML data file, refused where JSON would not give back exactly what the
    YAML says (a date, a key that is a number, NaN): the wizard would read something else."""
    from wizard.yamlio import safe_load

    data = safe_load(source.read_text(encoding="utf-8"))
    where = source.relative_to(ROOT)
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=1) + "\n"
    except (TypeError, ValueError) as err:
        raise SystemExit(f"{where}: JSON cannot hold this data ({err})") from None
    if json.loads(text) != data:  # a key that is a number or true comes back a string
        raise SystemExit(f"{where}: JSON would not give back the same data (a key not a string?)")
    return text


def stale() -> list[Path]:
    """The YAML files whose JSON is missing or says something else."""
    return [
        source
        for source in sources()
        if not target(source).is_file()
        or target(source).read_text(encoding="utf-8") != converted(source)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    check = parser.parse_args().check
    sys.path.insert(0, str(ROOT))
    found = stale()
    for source in found:
        print(f"{'stale' if check else 'wrote'} {target(source).relative_to(ROOT)}")
        if not check:
            target(source).write_text(converted(source), encoding="utf-8")
    return 1 if check and found else 0


if __name__ == "__main__":
    sys.exit(main())
