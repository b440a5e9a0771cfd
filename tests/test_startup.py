"""The asyncio stand-in of quick commands: Pydantic loads without the rest of asyncio, and
whatever uses asyncio, then or later, gets all of it. Each case runs in a fresh interpreter,
since the stand-in lives in `sys.modules`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_wizard

PRELUDE = """
import sys
from wizard.startup import import_pydantic
import_pydantic()
from pydantic import BaseModel, Field
class Answers(BaseModel):
    a: int = Field(default=1, ge=0)
    b: list[str] = []
Answers(a=2)
leaked = [name for name in sys.modules if name.startswith('asyncio')]
assert not leaked, f'Pydantic loaded asyncio, or the stand-in stayed: {leaked}'
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def run_after_pydantic(code: str) -> subprocess.CompletedProcess[str]:
    """`code` run once Pydantic is loaded the quick way and has built a model."""
    return run_python(PRELUDE + textwrap.dedent(code))


@pytest.mark.parametrize(
    "use",
    [
        # the usual way: import it, then run something
        """
        import asyncio
        async def three():
            return 3
        assert asyncio.run(three()) == 3
        """,
        # a name imported from it
        """
        from asyncio import Queue, get_event_loop_policy
        assert Queue.__module__ == 'asyncio.queues' and get_event_loop_policy()
        """,
        # a submodule imported first
        """
        import asyncio.events
        loop = asyncio.events.new_event_loop()
        loop.close()
        assert asyncio.get_event_loop_policy()
        """,
        # the submodule the stand-in held
        """
        import asyncio.coroutines
        assert asyncio.coroutines is sys.modules['asyncio.coroutines']
        assert asyncio.base_events.coroutines is asyncio.coroutines
        """,
    ],
)
def test_asyncio_used_after_the_stand_in_is_all_there(use: str) -> None:
    done = run_after_pydantic(use)
    assert done.returncode == 0, done.stderr


def test_a_coroutine_marked_deprecated_afterwards_is_a_coroutine_function() -> None:
    # typing_extensions marks the wrapper of a deprecated coroutine function with the marker
    # object of the asyncio.coroutines it imports: the real one's, once the stand-in has gone.
    done = run_after_pydantic(
        """
        from typing_extensions import deprecated
        @deprecated('use another')
        async def old():
            return 1
        import asyncio
        assert asyncio.iscoroutinefunction(old)
        """
    )
    assert done.returncode == 0, done.stderr


def test_asyncio_asked_for_while_pydantic_loads_is_the_real_one_and_stays() -> None:
    code = """
import sys
from wizard import startup
with startup.asyncio_deferred():
    import asyncio.coroutines
    stand_in = asyncio
    assert 'asyncio.base_events' not in sys.modules
    async def three():
        return 3
    assert asyncio.run(three()) == 3
import asyncio
assert sys.modules['asyncio'] is asyncio and asyncio.run is stand_in.run
assert asyncio.coroutines is sys.modules['asyncio.coroutines']
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr


def test_a_submodule_imported_under_the_stand_in_fails_loudly() -> None:
    # Rather than be loaded twice (once under the stand-in, again by the real package).
    code = """
from wizard import startup
with startup.asyncio_deferred():
    try:
        import asyncio.events
    except ModuleNotFoundError as err:
        assert "'asyncio' is not a package" in str(err), err
    else:
        raise AssertionError('imported under the stand-in')
import asyncio.events
assert asyncio.events.new_event_loop
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr


def test_nothing_is_done_where_asyncio_is_loaded_already() -> None:
    done = run_python(
        "import asyncio, sys\n"
        "from wizard.startup import import_pydantic\n"
        "import_pydantic()\n"
        "assert sys.modules['asyncio'] is asyncio"
    )
    assert done.returncode == 0, done.stderr


def test_new_yes_never_loads_the_rest_of_asyncio(tmp_path: Path) -> None:
    # What the stand-in is for: a quick command that loaded asyncio anyway (a new import of it
    # on the quick path) would pay its 35-40 ms again.
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = run_wizard(
        "new",
        "run",
        "--preset",
        "llama-3.1-8b-qlora",
        "--set",
        "datasets.0.path=data/train.jsonl",
        "--yes",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "axolotl.yml").is_file()
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "pydantic._internal._model_construction" in imported  # (import_module is not timed)
    assert not [name for name in imported if name.startswith("asyncio")]
