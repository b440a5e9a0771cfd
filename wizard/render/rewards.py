"""GRPO's reward functions: found before anything is written, and carried into the run folder.

Axolotl imports each `module.function` of `trl.reward_funcs` from its working directory, which
`launch` makes the run folder. A module that is a file beside the user (`rewards.py`) is copied
there; one that is installed is left to the environment. The file is read, never imported: the
function is looked for in its syntax tree, so `new` runs none of the user's code.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from wizard.errors import WizardError
from wizard.runspec import GrpoObjective, RunSpec
from wizard.yamlio import read_text_file

MAX_MODULE_BYTES = 1024 * 1024


def reward_files(spec: RunSpec, cwd: Path) -> dict[str, str]:
    """The reward modules to write into the run folder (relative path -> text); raises when a
    reward function is in no file here and no installed module."""
    objective = spec.objective
    if not isinstance(objective, GrpoObjective):
        return {}
    files: dict[str, str] = {}
    for name in objective.reward_functions:
        module, _, function = name.rpartition(".")
        relative = Path(*module.split(".")).with_suffix(".py")
        path = cwd / relative
        if path.is_file():
            text = read_text_file(path, "reward module", max_bytes=MAX_MODULE_BYTES)
            _check_defined(path, text, function, name)
            files[relative.as_posix()] = text
        elif importlib.util.find_spec(module.split(".")[0]) is None:
            raise WizardError(
                f"reward function {name}: there is no {relative.as_posix()} here and no "
                f"installed module {module.split('.')[0]!r}",
                f"put {relative.as_posix()} (with def {function}(prompts, completions, "
                "**kwargs)) in the folder you run `new` from, or fix objective.reward_functions",
            )
    return files


def _check_defined(path: Path, text: str, function: str, name: str) -> None:
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as err:
        raise WizardError(f"reward module {path}:{err.lineno}: {err.msg}",
                          "fix the module's syntax") from None  # fmt: skip
    defined = {node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}  # fmt: skip
    defined |= {target.id for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}  # fmt: skip
    if function not in defined:
        raise WizardError(
            f"reward function {name}: {path} defines no {function!r}",
            f"add def {function}(prompts, completions, **kwargs) to it, or fix "
            "objective.reward_functions",
        )
