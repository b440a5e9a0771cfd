"""Immutable records that cost nothing to define.

`typing.NamedTuple` and `dataclasses` write and compile methods for each class they make: 0.7 M
instructions a NamedTuple, several M a dataclass, and `new --yes` defines fifty records before it
writes a line (bench/bench_new.py). A `Record` subclass only lists its fields; its methods are
this class's own. Type checkers read a subclass as a frozen dataclass (`dataclass_transform`,
PEP 681): its `__init__` takes the fields, in order, and assigning one is an error.

    class Pos(Record):
        line: int
        col: int = 0
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, ClassVar

# typing's own from 3.11: `--help`, `check` and `estimate` load no typing_extensions (15 M).
if sys.version_info >= (3, 11):
    from typing import Self, dataclass_transform
else:
    from typing_extensions import Self, dataclass_transform


@dataclass_transform(frozen_default=True)
class Record:
    """Every annotation is a field, in the order written, the fields with a default last. Equal
    when of the same class with equal fields; hashable when the fields are; `_replace` and
    `_asdict` as a NamedTuple has them (not a tuple: no indexing, unpacking or ordering)."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _field_set: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(inspect.get_annotations(cls))
        cls._fields = cls._fields + own
        cls._field_set = frozenset(cls._fields)
        cls._defaults = {**cls._defaults, **{n: cls.__dict__[n] for n in own if n in cls.__dict__}}
        defaulted = [name in cls._defaults for name in cls._fields]
        if defaulted != sorted(defaulted):  # False before True: the fields with defaults last
            raise TypeError(f"{cls.__name__}: a field without a default follows one with one")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) == len(fields) and not kwargs:
            self.__dict__.update(zip(fields, args, strict=True))
            return
        values = {**self._defaults, **dict(zip(fields, args, strict=False)), **kwargs}
        if (len(values) != len(fields) or len(args) > len(fields)
                or not kwargs.keys() <= self._field_set
                or not kwargs.keys().isdisjoint(fields[: len(args)])):  # fmt: skip
            raise TypeError(self._misfit(args, kwargs))
        self.__dict__.update(values)

    @classmethod
    def _misfit(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """Why these arguments make no record (the slow path: only a wrong call comes here)."""
        fields = cls._fields
        if len(args) > len(fields):
            return f"{cls.__name__}() takes {len(fields)} fields, not {len(args)}"
        twice = [name for name in fields[: len(args)] if name in kwargs]
        unknown = [name for name in kwargs if name not in fields]
        given = {*fields[: len(args)], *kwargs, *cls._defaults}
        missing = [name for name in fields if name not in given]
        for problem, names in (("given twice", twice), ("unknown", unknown), ("missing", missing)):
            if names:
                return f"{cls.__name__}(): field {names[0]!r} {problem}"
        raise AssertionError("the arguments fit")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use _replace({name}=…)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in self._fields)

    def _asdict(self) -> dict[str, Any]:
        return {name: self.__dict__[name] for name in self._fields}

    def _replace(self, **changes: Any) -> Self:
        return type(self)(**{**self._asdict(), **changes})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"
