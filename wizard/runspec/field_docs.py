"""What each answer means: the attribute docstring under its field, as Sphinx and Pydantic's
`use_attribute_docstrings` read it. Only the pages that show the meanings read them (the answers
reference, `scripts/gen_answers_docs.py`); Pydantic's `Field(description=…)` would carry the same
text into every model build, 30 M instructions of each `new --yes` (bench/bench_new.py)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from itertools import pairwise


def field_docs(model: type) -> dict[str, str]:
    """{field name: its docstring, on one line} of a model and the models it extends (a
    subclass's own docstring wins)."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls.__module__.startswith("wizard."):
            docs.update(_own_docs(cls))
    return docs


def _own_docs(cls: type) -> dict[str, str]:
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    docs = {}
    for field, after in pairwise(body.body):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
            text = after.value if isinstance(after, ast.Expr) else None
            if isinstance(text, ast.Constant) and isinstance(text.value, str):
                docs[field.target.id] = " ".join(text.value.split())
    return docs
