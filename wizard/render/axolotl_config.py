"""Spec -> flat Axolotl config, grouped and commented (pure: no IO).

Axolotl's YAML is flat; the groups below only order the keys and give each block a heading so a
person can read the file top to bottom: model, data, method, batch, schedule, precision, output.

Every entry names the answer it is rendered from, or is marked as the wizard's own choice (a
tokenized-data cache, `tf32`, padding packed rows, …). For an imported config
(`defaults: axolotl`) only entries of answers the config gave are written, and none of the
wizard's choices: an imported run trains exactly as the original would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from wizard.axolotl.paths import PathMapper, keep_path
from wizard.errors import WizardError
from wizard.render.composites import WRITERS
from wizard.render.fsdp_config import check_sharding_raw
from wizard.render.key_table import GROUPS, Row, rows_of
from wizard.render.rendered import Group, RenderedConfig
from wizard.runspec import RunSpec


def render_axolotl(
    spec: RunSpec, raw: Mapping[str, Any] | None = None, path_for: PathMapper = keep_path
) -> RenderedConfig:
    """The Axolotl config for `spec` plus raw pass-through keys; `path_for` maps local paths.
    The key table (`render.key_table`) says which key each answer writes, in which group and
    in what order; the composite rows are written by `render.composites`."""
    groups = [_group(spec, title, path_for) for title in GROUPS]
    if not spec.policy.writes_opinions:
        groups = [_only_given(group, given_answers(spec)) for group in groups]
    groups = [g for g in groups if g.entries]
    if raw:
        _check_raw_keys(raw, groups)
        check_sharding_raw(spec, raw)
        title = "raw Axolotl keys, passed through unchanged (axolotl: in the answers)"
        groups.append(Group(title, []))
        for key, value in raw.items():
            groups[-1].add(key, value)
    return RenderedConfig(groups)


def _group(spec: RunSpec, title: str, path_for: PathMapper) -> Group:
    """One group of the config: its rows of the key table, in order."""
    kinds = {"method": spec.method.kind, "objective": spec.objective.kind}
    group = Group(f"{title}: {kinds[title]}" if title in kinds else title, [])
    for row in rows_of(title):
        if row.crossing == "same":
            _add_same(group, spec, row)
            continue
        writer = WRITERS[row.answer, row.key]
        if writer is not None:
            writer(spec, group, path_for)
    return group


def _add_same(group: Group, spec: RunSpec, row: Row) -> None:
    """A row whose answer is written as it is (or as the run resolves it)."""
    if row.when is not None and not row.when(spec):
        return
    value = row.value_of(spec)
    if value is None:
        return
    opinion = row.opinion(spec) if row.opinion is not None else False
    group.add(row.key, value, row.comment_of(spec), row.answer, opinion)


def given_answers(spec: RunSpec) -> set[str]:
    """The dotted answers that were given (not left to a default), e.g. `training.seed`."""
    given: set[str] = set()
    for name in spec.model_fields_set:
        value = getattr(spec, name)
        if isinstance(value, BaseModel):
            given |= {f"{name}.{field_name}" for field_name in value.model_fields_set}
        else:
            given.add(name)
    return given


def _only_given(group: Group, given: set[str]) -> Group:
    kept = [e for e in group.entries if not e.opinion and e.answer in given]
    return Group(group.title, kept)


def _check_raw_keys(raw: Mapping[str, Any], groups: list[Group]) -> None:
    """A raw key may add to the config but not contradict an answer the wizard rendered."""
    rendered = {e.key: e for g in groups for e in g.entries}
    clash = [k for k in raw if k in rendered]
    if clash:
        answer = rendered[clash[0]].answer
        change = f"set the answer {answer} instead (--set {answer}=VALUE)" if answer else (
            "change the answer it comes from instead")  # fmt: skip
        raise WizardError(
            f"raw Axolotl key {clash[0]!r} is also set from the answers",
            f"{change}, and remove axolotl.{clash[0]}",
        )
