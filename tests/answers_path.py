"""The answers path as `new` takes it, for tests of what it refuses: answers given with --set,
resolved, auto-fit, rendered and checked by the rules of `check` (`render.plan.plan_run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.errors import WizardError
from wizard.render.plan import RunPlan, plan_run


def flat(parts: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested answers (as the spec takes them) as dotted answer keys (as --set gives them)."""
    found: dict[str, Any] = {}
    for name, value in parts.items():
        if isinstance(value, dict):
            found.update(flat(value, f"{prefix}{name}."))
        else:
            found[f"{prefix}{name}"] = value
    return found


def planned(answers: dict[str, Any], cwd: Path | None = None) -> RunPlan:
    given = Answers([Layer("--set", answers, kind=LayerKind.SET)])
    return plan_run(given, None, None, cwd or Path.cwd())


def refusal(answers: dict[str, Any], cwd: Path | None = None) -> WizardError:
    """The one error the answers path stops with (the test fails when it writes the run)."""
    with pytest.raises(WizardError) as info:
        planned(answers, cwd)
    return info.value
