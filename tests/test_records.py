"""`wizard.records.Record`: the immutable records of the quick path behave as frozen dataclasses
(and as NamedTuples for `_replace` and `_asdict`), and a wrong call says what is wrong."""

from __future__ import annotations

import pytest

from wizard.records import Record


class Pos(Record):
    line: int
    col: int = 0
    tags: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        return f"{self.line}:{self.col}"


def test_fields_in_order_with_their_defaults() -> None:
    assert Pos._fields == ("line", "col", "tags")
    assert Pos(3)._asdict() == {"line": 3, "col": 0, "tags": ()}
    assert Pos(3, 4).shown == "3:4" and Pos(line=3, tags=("a",)).tags == ("a",)


def test_equal_and_hashed_by_class_and_fields() -> None:
    assert Pos(1, 2) == Pos(line=1, col=2) and hash(Pos(1, 2)) == hash(Pos(1, 2))
    assert Pos(1, 2) != Pos(1, 3)

    class Other(Record):
        line: int
        col: int = 0
        tags: tuple[str, ...] = ()

    assert Pos(1) != Other(1) and Pos(1) != (1, 0, ())
    assert repr(Pos(1, tags=("x",))) == "Pos(line=1, col=0, tags=('x',))"


def test_immutable_and_copied_with_changes() -> None:
    pos = Pos(1)
    with pytest.raises(AttributeError, match="immutable"):
        pos.col = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del pos.line  # type: ignore[misc]
    moved = pos._replace(col=5)
    assert (pos.col, moved.col, moved.line) == (0, 5, 1)


def test_not_a_tuple() -> None:
    with pytest.raises(TypeError):
        iter(Pos(1))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("args", "kwargs", "why"),
    [
        ((), {}, "field 'line' missing"),
        ((1,), {"row": 2}, "field 'row' unknown"),
        ((1,), {"line": 2}, "field 'line' given twice"),
        ((1, 2, (), 4), {}, "takes 3 fields, not 4"),
        ((), {"col": 1, "extra": 2}, "field 'extra' unknown"),
    ],
)
def test_a_wrong_call_says_what_is_wrong(args: tuple, kwargs: dict, why: str) -> None:
    with pytest.raises(TypeError, match=why):
        Pos(*args, **kwargs)


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        class Bad(Record):
            first: int = 0
            second: int


def test_copied_and_pickled_whole() -> None:
    import copy
    import pickle

    pos = Pos(1, 2, ("a",))
    for twin in (copy.copy(pos), copy.deepcopy(pos), pickle.loads(pickle.dumps(pos))):
        assert twin == pos and twin is not pos and twin.shown == "1:2"
