"""`axolotl-wizard presets list|show|explain|diff|save|check`: the presets a team shares."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.commands.argtypes import verb_parser
from wizard.terminal import visible, warn

if TYPE_CHECKING:
    from wizard.presets.views import Listing, Resolved

EPILOG = """\
examples:
  axolotl-wizard presets list                         every preset, where it comes from
  axolotl-wizard presets show team:llama-qlora        resolved answers, each with its source
  axolotl-wizard presets explain llama-3.1-8b-qlora training.micro_batch_size
  axolotl-wizard presets diff llama-3.1-8b-lora llama-3.1-8b-qlora
  axolotl-wizard presets save my-run --from runs/llama8b --to team-presets/
  axolotl-wizard presets save team-recipe --from their-axolotl.yml --to team-presets/
  axolotl-wizard presets save our-dpo --from runs/dpo --extends team-base --lock method
  axolotl-wizard presets check team-presets/          render + lint every preset (for CI)

Sources, lowest first: builtin < user ($XDG_CONFIG_HOME/axolotl-wizard/presets) < team
(AXOLOTL_WIZARD_PRESETS, folders separated like PATH) < project (./.axolotl-wizard/presets).
An unqualified name takes the highest source that has it; qualify it as SOURCE:NAME.
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(
        subparsers, common, "presets", "list, show, explain, diff, save and check presets",
        EPILOG, "Presets: partial answers (plus raw Axolotl keys) a team shares.",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="presets_action", metavar="ACTION")
    _action(actions, common, "list", "every preset: name, source, version, description", _list)
    _action(actions, common, "show", "the resolved answers, each with where it came from", _show)
    _action(actions, common, "explain", "where one answer's value comes from", _explain)
    _action(actions, common, "diff", "the resolved answers that differ between two presets", _diff)
    _action(
        actions, common, "save", "a run folder's answers or an Axolotl config -> a preset", _save
    )
    _action(actions, common, "check", "render and lint every preset of a folder", _check)
    parser.set_defaults(run=run)


def _action(
    actions: Any,
    common: argparse.ArgumentParser,
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace], int],
) -> None:
    sub = actions.add_parser(name, parents=[common], help=help_text, description=help_text)
    ARGUMENTS[name](sub)
    sub.set_defaults(presets_run=handler)


def _list_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print JSON for scripts")


def _show_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", help="a preset name, optionally SOURCE:NAME")
    sub.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub.add_argument(
        "--all", action="store_true", help="also the answers left unset (Axolotl's defaults)"
    )


def _explain_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", help="a preset name, optionally SOURCE:NAME")
    sub.add_argument("key", help="a dotted answer key (training.seed) or a prefix (method)")


def _diff_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("a", help="the first preset")
    sub.add_argument("b", help="the second preset")


def _save_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", help="the new preset's name")
    sub.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="SOURCE",
        help="a run folder (or its wizard-answers.yml), or an Axolotl config to import",
    )
    sub.add_argument(
        "--to",
        type=Path,
        metavar="DIR",
        help="the folder to save in (default: your user preset folder)",
    )
    sub.add_argument("--description", help="one line saying what the preset is for")
    sub.add_argument("--force", action="store_true", help="overwrite a preset of that name")
    sub.add_argument(
        "--extends", metavar="PRESET", help="build on this preset: keep only what it does not give"
    )
    sub.add_argument("--lock", dest="locked", action="append", default=[], metavar="KEY",
                     help="lock an answer (or a prefix: method) for everyone who uses the preset; "
                     "repeatable")  # fmt: skip


def _check_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("dir", nargs="?", type=Path, help="a preset folder (default: built-in)")
    sub.add_argument(
        "--strict",
        action="store_true",
        help="fail on warnings too (unknown Axolotl keys, version mismatches)",
    )


ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "list": _list_args,
    "show": _show_args,
    "explain": _explain_args,
    "diff": _diff_args,
    "save": _save_args,
    "check": _check_args,
}


def run(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = getattr(args, "presets_run", None) or _list
    if not hasattr(args, "json"):
        args.json = False  # `axolotl-wizard presets` alone lists them.
    return handler(args)


def _list(args: argparse.Namespace) -> int:
    from wizard.presets.views import list_presets

    listings = list_presets()
    if args.json:
        print(json.dumps([item.to_dict() for item in listings], indent=2))
        return 0
    rows = [("NAME", "SOURCE", "VERSION", "DESCRIPTION")] + [_list_row(i) for i in listings]
    _print_table(rows)
    broken = sum(1 for item in listings if item.status == "broken")
    print(
        f"\n{len(listings)} presets{f', {broken} broken' if broken else ''}. "
        "Use one: axolotl-wizard new DIR --preset NAME"
    )
    return 0


def _list_row(item: Listing) -> tuple[str, ...]:
    if item.problem:
        return (item.qualified_name, item.source, "-", f"BROKEN: {item.problem}")
    assert item.preset is not None
    data = item.preset.data
    if item.shadowed_by:
        note = f"(shadowed by {item.shadowed_by.qualified_name}) "
        return (item.qualified_name, item.source, data.version, note + data.description)
    return (item.name, item.source, data.version, data.description)


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    rows = [tuple(visible(cell) for cell in row) for row in rows]  # names, descriptions, values
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


def _resolve(name: str) -> Resolved:
    from wizard.presets.locks import chain_version_warnings
    from wizard.presets.store import preset_chain
    from wizard.presets.views import resolve_chain

    chain = preset_chain(name)
    for warning in chain_version_warnings(chain):
        warn(warning)
    return resolve_chain(chain)


def _show(args: argparse.Namespace) -> int:
    from wizard.presets.views import show_value

    resolved = _resolve(args.name)
    preset = resolved.preset
    if args.json:
        print(json.dumps(_show_json(resolved), indent=2))
        return 0
    print(f"preset {preset.qualified_name}  ({visible(str(preset.path))})")
    if preset.data.description:
        print(f"  {visible(preset.data.description)}")
    print(f"chain: {' -> '.join(p.qualified_name for p in resolved.chain)}")
    if preset.data.axolotl_version:
        print(f"axolotl_version: {visible(preset.data.axolotl_version)}")
    print()
    rows = [("KEY", "VALUE", "FROM")]
    # An unset answer with no default writes nothing: listed only with --all.
    shown = [r for r in resolved.rows if args.all or r.origin != "default" or r.value is not None]
    for row in shown:
        origin = row.origin + (" [locked]" if row.locked_by else "")
        rows.append((row.key, show_value(row), origin))
    _print_table(rows)
    hidden = len(resolved.rows) - len(shown)
    if hidden:
        print(f"\n{hidden} more answers are unset, so Axolotl's defaults hold: --all lists them")
    return 0


def _show_json(resolved: Resolved) -> dict[str, Any]:
    return {
        "name": resolved.preset.qualified_name,
        "path": str(resolved.preset.path),
        "chain": [p.qualified_name for p in resolved.chain],
        "answers": [
            {
                "key": row.key,
                "value": None if row.required else row.value,
                "from": row.origin,
                "required": row.required,
                "locked_by": row.locked_by,
            }
            for row in resolved.rows
        ],
    }


def _explain(args: argparse.Namespace) -> int:
    from wizard.presets.views import explain

    resolved = _resolve(args.name)
    lines = explain(resolved, args.key)
    print(f"in preset {resolved.preset.qualified_name}:")
    print("\n".join(visible(line) for line in lines))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from wizard.presets.views import diff

    a, b = _resolve(args.a), _resolve(args.b)
    print(f"--- {a.preset.qualified_name} ({visible(str(a.preset.path))})")
    print(f"+++ {b.preset.qualified_name} ({visible(str(b.preset.path))})")
    changes = diff(a, b)
    if not changes:
        print("no differences in the resolved answers")
    width = max((len(key) for key, _a, _b in changes), default=0)
    for key, value_a, value_b in changes:
        print(visible(f"{key.ljust(width)}  {value_a} -> {value_b}"))
    return 0


def _save(args: argparse.Namespace) -> int:
    from wizard.presets.store import user_presets_dir
    from wizard.presets.tools import SaveRequest, save_preset, source_of

    folder = args.to or user_presets_dir()
    saved = save_preset(SaveRequest(args.name, args.source, folder, args.description, args.force,
                                    args.extends, tuple(args.locked)))  # fmt: skip
    print(f"Saved preset {args.name}: {visible(str(saved.path))}")
    if saved.machine_paths:
        left = visible(", ".join(saved.machine_paths))
        print(f"Left out, as paths on this machine: {left} (`new` asks for the model and the "
              "data; output folders go in the run folder)")  # fmt: skip
    source = source_of(folder)
    if source:
        print(f"Use it: axolotl-wizard new RUN_DIR --preset {source}:{args.name}")
    else:
        print(
            f"{visible(str(folder))} is not a preset folder yet: add it to AXOLOTL_WIZARD_PRESETS "
            "(folders separated like PATH) to use the preset"
        )
    return 0


def _check(args: argparse.Namespace) -> int:
    from wizard.presets.tools import check_folder

    results = check_folder(args.dir, args.strict)
    width = max(len(result.name) for result in results)
    for result in results:
        status = "ok  " if result.ok else "FAIL"
        filled = ", ".join(result.placeholders)
        note = f"  (placeholders: {filled})" if filled and result.ok else ""
        print(visible(f"{status}  {result.name.ljust(width)}  {result.path}{note}"))
        for problem in result.problems:
            print(f"      error: {visible(str(result.path))}: {visible(problem)}")
        for warning in result.warnings:
            print(f"      warning: {visible(warning)}")
    failed = [r for r in results if not r.ok]
    passed = len(results) - len(failed)
    print(f"\nchecked {len(results)} presets: {passed} ok, {len(failed)} failed")
    return 1 if failed else 0
