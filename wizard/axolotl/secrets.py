"""Credentials in config values, and the environment variable each tracker reads instead.

A key written into axolotl.yml is also in wizard-answers.yml, in every launch record and in any
preset saved from the run: a credential there ends up in git and on shared disks. The trackers
Axolotl talks to all read their keys from the environment, which is never copied into a file.
A credential is a key named like one (`comet_api_key`, a webhook URL, whose path is its token),
or hides inside a URL: a password in its user part, a token in its query.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

# `comet_api_key`, `swanlab_lark_secret`, `hub_token`, `api_key` (the Hatchery plugin) ... but
# not the special-token strings (`pad_token`, `eos_token`) nor `tokens` lists: a name that is
# one of these or ends in `_` and one of them (plain string tests: this runs on every `new`, and
# the same alternation as a regex took 2 M instructions to compile).
SECRET_NAMES = (
    "api_key", "secret", "password", "passwd", "credential", "credentials", "webhook",
    "webhook_url",
    *(f"{service}_token" for service in ("hub", "hf", "auth", "access", "bearer", "api", "wandb",
                                         "comet", "mlflow", "swanlab", "neptune")),
)  # fmt: skip
_SECRET_ENDINGS = tuple(f"_{name}" for name in SECRET_NAMES)
# Query parameters that carry credentials (`?access_token=`, `?api_key=`, AWS/Azure `sig=`).
# A pattern, compiled by `re` on first use: only a URL with a query is searched for one.
SECRET_PARAMETER = (
    r"(^|[_.-]|api)(token|key|secret|password|passwd|pwd|sig|signature|auth|credentials?)$"
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
URL_HINT = (
    "give the URL without its credentials and put them in the environment the run starts in "
    "(MLflow: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN); "
    "files never hold a key"
)


def is_secret(key: str) -> bool:
    """Whether any part of a dotted key names a credential (the caller checks the value is a
    string: `hf_use_auth_token: true` is a switch, not a token)."""
    return any(part in SECRET_NAMES or part == "token" or part.endswith(_SECRET_ENDINGS)
               for part in key.split("."))  # fmt: skip


def environment_hint(key: str) -> str:
    name = key.rsplit(".", 1)[-1]
    if "webhook" in name:
        return (
            "a webhook URL is its own token: leave it out of the answers, and add it only to a "
            "copy of axolotl.yml that is never shared"
        )
    variable = next((env for prefix, env in ENVIRONMENT.items() if name.startswith(prefix)), None)
    if variable is None:
        return "set it in the environment the run starts in (the tracker's own variable)"
    return f"export {variable}=… in the shell that launches instead; files never hold a key"


def url_credential(value: str) -> str | None:
    """What credential a URL holds in clear (`a password`, `a token in its query (?sig=)`), or
    None when it holds none or is not a URL."""
    if "://" not in value:
        return None
    try:
        parts = urlsplit(value.strip())
        password = parts.password
    except ValueError:  # a malformed port or bracket: not a URL anything would connect to
        return None
    if password:
        return "a password"
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if re.search(SECRET_PARAMETER, name.lower()):
            return f"a token in its query (?{name}=)"
    return None


def credential_problem(key: str, value: object, by_name: bool = True) -> tuple[str, str] | None:
    """(what, hint) when `value` at the dotted `key` is a credential a file must not hold: by
    the key's name (`by_name`: for raw Axolotl keys, whose names the wizard does not know), or
    a URL that holds one (the value, or a text in a list)."""
    if by_name and isinstance(value, str) and is_secret(key):
        return "a credential", environment_hint(key)
    texts = value if isinstance(value, list) else [value]
    found = [url_credential(text) for text in texts if isinstance(text, str)]
    first = next((what for what in found if what), None)
    return None if first is None else (f"a URL with {first}", URL_HINT)
