"""Config keys that hold credentials, and the environment variable each tracker reads instead.

A key written into axolotl.yml is also in wizard-answers.yml, in every launch record and in any
preset saved from the run: a credential there ends up in git and on shared disks. The trackers
Axolotl talks to all read their keys from the environment, which is never copied into a file.
"""

from __future__ import annotations

import re

# `comet_api_key`, `swanlab_lark_secret`, `hub_token`, `api_key` (the Hatchery plugin) ... but
# not the special-token strings (`pad_token`, `eos_token`) nor `tokens` lists.
SECRET_NAME = re.compile(
    r"(^|_)(api_key|secret|password|passwd|credentials?)$"
    r"|(^|_)(hub|hf|auth|access|bearer|api|wandb|comet|mlflow|swanlab|neptune)_token$"
    r"|^token$"
)
ENVIRONMENT = {
    "comet": "COMET_API_KEY",
    "wandb": "WANDB_API_KEY",
    "swanlab": "SWANLAB_API_KEY",
    "mlflow": "MLFLOW_TRACKING_TOKEN",
    "neptune": "NEPTUNE_API_TOKEN",
    "hub": "HF_TOKEN",
    "hf": "HF_TOKEN",
}


def is_secret(key: str) -> bool:
    """Whether any part of a dotted key names a credential (the caller checks the value is a
    string: `hf_use_auth_token: true` is a switch, not a token)."""
    return any(SECRET_NAME.search(part) for part in key.split("."))


def environment_hint(key: str) -> str:
    name = key.rsplit(".", 1)[-1]
    variable = next((env for prefix, env in ENVIRONMENT.items() if name.startswith(prefix)), None)
    if variable is None:
        return "set it in the environment the run starts in (the tracker's own variable)"
    return f"export {variable}=… in the shell that launches instead; files never hold a key"
