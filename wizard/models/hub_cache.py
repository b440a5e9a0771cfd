"""The Hugging Face cache on this machine: where a downloaded model's files are, if anywhere.

One place for the rules huggingface_hub itself follows, so the estimate (reading config.json)
and the launch preflight (is the model there, does its tokenizer have a chat template) look in
the same folders. Nothing here reaches the network.
"""

from __future__ import annotations

import os
from pathlib import Path


def hub_cache_dirs() -> list[Path]:
    """Where huggingface_hub keeps downloads, in its own order of precedence."""
    dirs: list[Path] = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]).expanduser())
    if os.environ.get("HF_HOME"):
        dirs.append(Path(os.environ["HF_HOME"]).expanduser() / "hub")
    if os.environ.get("TRANSFORMERS_CACHE"):
        dirs.append(Path(os.environ["TRANSFORMERS_CACHE"]).expanduser())
    xdg = os.environ.get("XDG_CACHE_HOME")
    dirs.append((Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub")
    return dirs


def cached_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot of a Hub model that holds its config.json: the one `refs/main`
    names, else the newest by name; None when it is not cached."""
    if repo_id.count("/") != 1:
        return None
    folder_name = "models--" + repo_id.replace("/", "--")
    for cache in hub_cache_dirs():
        repo = cache / folder_name
        if not repo.is_dir():
            continue
        ref = repo / "refs" / "main"
        if ref.is_file():
            with ref.open("rb") as handle:  # a commit hash: its first bytes are all there is
                name = handle.read(256).decode("utf-8", errors="replace").strip()
            snapshot = repo / "snapshots" / name
            if (snapshot / "config.json").is_file():
                return snapshot
        found = sorted((repo / "snapshots").glob("*/config.json"))
        if found:
            return found[-1].parent
    return None
