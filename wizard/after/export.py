"""A trained model exported: its merged weights as safetensors, GGUF through llama.cpp's own
converter, and an upload to the Hugging Face Hub that names what it sends. The token is never
read here: the upload's child finds it where huggingface_hub looks (HF_TOKEN, `hf auth login`)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from wizard.after.step import Ran, Step, require_success, run_step
from wizard.after.trained import Trained, as_child_sees
from wizard.errors import WizardError
from wizard.files import make_folders, os_error
from wizard.launch.checks import Preflight
from wizard.launch.command import LaunchCommand
from wizard.launch.probe import offline

CONVERTER = "convert_hf_to_gguf.py"  # llama.cpp's converter, at the top of its checkout
LLAMA_CPP_ENV = "LLAMA_CPP_DIR"
GGUF_DIR = "gguf"  # inside the run's outputs
# What a model folder holds that is not the model: logs, checkpoints, our staging folders.
NOT_MODEL = ("debug.log", "README.md")
HF_CLI = "huggingface_hub.cli.hf"


def find_converter(given: Path | None) -> Path:
    """llama.cpp's convert_hf_to_gguf.py: `--llama-cpp` (the script or its checkout), then
    $LLAMA_CPP_DIR, then PATH; a one-line error naming all three when none has it."""
    env = os.environ.get(LLAMA_CPP_ENV)
    candidates = [given, Path(env) if env else None]
    for place in (c.expanduser() for c in candidates if c is not None):
        script = place / CONVERTER if place.is_dir() else place
        if script.is_file():
            return script.resolve()
    on_path = shutil.which(CONVERTER)
    if given is None and on_path:
        return Path(on_path).resolve()
    where = f"{given} has no {CONVERTER}" if given else f"{CONVERTER} was not found"
    raise WizardError(
        f"GGUF needs llama.cpp's converter, and {where} (--llama-cpp, ${LLAMA_CPP_ENV}, PATH)",
        "git clone https://github.com/ggml-org/llama.cpp, pip install -r "
        "llama.cpp/requirements.txt, then pass --llama-cpp llama.cpp",
    )


def gguf_file(trained: Trained, outtype: str) -> Path:
    return trained.output / GGUF_DIR / f"{trained.run_dir.name}-{outtype}.gguf"


def convert_to_gguf(trained: Trained, pre: Preflight, source: Path, converter: Path,
                    outtype: str) -> tuple[Path, Ran]:  # fmt: skip
    """llama.cpp's converter on the model folder `source`, writing a partial file that is
    renamed only once it finished."""
    final = gguf_file(trained, outtype)
    make_folders(final.parent)
    partial = final.with_name(f".{final.name}.partial")
    argv = [pre.python, str(converter), as_child_sees(source, trained.run_dir),
            "--outfile", as_child_sees(partial, trained.run_dir), "--outtype", outtype]  # fmt: skip
    try:
        ran = run_step(trained, pre, Step("export", LaunchCommand(argv), writes=True), None)
        require_success(ran, "llama.cpp's converter")
        os.replace(partial, final)
    except OSError as err:
        raise os_error(err, final, "write") from None
    finally:
        if partial.exists():
            partial.unlink()
    return final, ran


@dataclass(frozen=True)
class Upload:
    repo: str
    folder: Path
    files: list[tuple[str, int]]  # name in the folder, bytes

    @property
    def total(self) -> int:
        return sum(size for _name, size in self.files)


def upload_of(repo: str, folder: Path, only: list[Path] | None = None) -> Upload:
    """The files an upload of `folder` sends (`only`: these files of it): the model's, not
    its logs, checkpoints or hidden files."""
    chosen = only if only is not None else sorted(folder.iterdir())
    files = [(p.name, p.stat().st_size) for p in chosen
             if p.is_file() and not p.is_symlink() and p.name not in NOT_MODEL
             and not p.name.startswith(".")]  # fmt: skip
    if not files:
        raise WizardError(f"{folder} holds no files to upload", "export the model first")
    return Upload(repo, folder, files)


def check_can_upload() -> None:
    """Online, and a token where huggingface_hub finds one (read there, never here)."""
    if offline():
        raise WizardError(
            "HF_HUB_OFFLINE is set: nothing can be uploaded to the Hub",
            "unset HF_HUB_OFFLINE, or use --dry-run to list what would go",
        )
    from huggingface_hub import get_token

    if not get_token():
        raise WizardError("no Hugging Face token: the Hub refuses an upload without one",
                          "set HF_TOKEN in the environment, or run `hf auth login`")  # fmt: skip


def upload(trained: Trained, pre: Preflight, plan: Upload) -> Ran:
    """`hf upload REPO FOLDER` of exactly the listed files, with the token the child finds."""
    includes = [word for name, _size in plan.files for word in ("--include", name)]
    argv = [pre.python, "-m", HF_CLI, "upload", plan.repo,
            as_child_sees(plan.folder, trained.run_dir), ".", *includes]  # fmt: skip
    ran = run_step(trained, pre, Step("export", LaunchCommand(argv), writes=False), None)
    require_success(ran, "the upload")
    return ran
