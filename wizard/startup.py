"""What a quick command does before anything else imports Pydantic: load it without asyncio.

On Python before 3.13, `typing_extensions.deprecated` runs `import asyncio.coroutines` for each
function it marks, to copy asyncio's coroutine marker onto a coroutine function's wrapper.
Pydantic and pydantic-core mark dozens of functions as they load, so their import pulled in all
of asyncio (with ssl, sockets, logging and concurrent futures): 35-40 ms, a quarter of the
floor under any verb that validates answers. Only the small, self-contained
`asyncio.coroutines` module is read.

So while Pydantic's modules load, `sys.modules` holds a stand-in for the `asyncio` package with
the real `asyncio.coroutines` (loaded from asyncio's own file); afterwards both leave
`sys.modules` and a later `import asyncio` is the usual one. Nothing Pydantic marks is a
coroutine function, so no wrapper keeps the stand-in's marker. Should anything ask the stand-in
for another name meanwhile, the real package is imported in its place and stays.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_PACKAGE = "asyncio"
_CHEAP_PART = "coroutines"
# Pydantic's modules that mark functions as deprecated when they load: the ones a quick
# command's models use. One left out only costs the time again (asyncio is then imported).
_MARKING = (
    "pydantic_core.core_schema",
    "pydantic.main",
    "pydantic.config",
    "pydantic.fields",
    "pydantic.types",
    "pydantic.json_schema",
    "pydantic.functional_validators",
)


def import_pydantic() -> None:
    """Import the Pydantic a quick command uses, without the rest of asyncio."""
    with asyncio_deferred():
        for name in _MARKING:
            importlib.import_module(name)


class _AsyncioStandIn(types.ModuleType):
    """`asyncio` while only `asyncio.coroutines` is wanted. No `__path__`: importing another
    submodule under it fails loudly (importing it twice would be worse)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_load_real_asyncio(self), name)


@contextmanager
def asyncio_deferred() -> Iterator[None]:
    """Within: `import asyncio.coroutines` loads that module alone. Nothing is done where
    asyncio is loaded already, where Python's typing_extensions needs no asyncio (3.13+), or
    where asyncio's coroutines module cannot be found."""
    stand_in = _install_stand_in()
    try:
        yield
    finally:
        if stand_in is not None and sys.modules.get(_PACKAGE) is stand_in:
            del sys.modules[_PACKAGE], sys.modules[f"{_PACKAGE}.{_CHEAP_PART}"]


def _install_stand_in() -> _AsyncioStandIn | None:
    if _PACKAGE in sys.modules or sys.version_info >= (3, 13):
        return None
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    # The path finder looks in asyncio's folder without importing the package, as
    # importlib.util.find_spec of a dotted name would.
    locations = list(spec.submodule_search_locations)
    part_spec = importlib.machinery.PathFinder.find_spec(f"{_PACKAGE}.{_CHEAP_PART}", locations)
    if part_spec is None or part_spec.loader is None:
        return None
    stand_in = _AsyncioStandIn(_PACKAGE)
    stand_in.__spec__ = spec
    part = importlib.util.module_from_spec(part_spec)
    sys.modules[_PACKAGE] = stand_in
    sys.modules[part_spec.name] = part
    try:
        part_spec.loader.exec_module(part)
    except Exception:
        del sys.modules[_PACKAGE], sys.modules[part_spec.name]
        return None
    setattr(stand_in, _CHEAP_PART, part)
    return stand_in


def _load_real_asyncio(stand_in: types.ModuleType) -> types.ModuleType:
    """Import the real package in the stand-in's place. The coroutines module is set on it
    first: the import system sets a submodule on its package only when it loads it, and
    asyncio's `__init__` reads it as a name (`coroutines.__all__`)."""
    spec = stand_in.__spec__
    assert spec is not None and spec.loader is not None  # set by _install_stand_in
    real = importlib.util.module_from_spec(spec)
    setattr(real, _CHEAP_PART, getattr(stand_in, _CHEAP_PART))
    sys.modules[_PACKAGE] = real
    try:
        spec.loader.exec_module(real)
    except BaseException:
        sys.modules[_PACKAGE] = stand_in
        raise
    stand_in.__dict__.update(real.__dict__)
    return real
