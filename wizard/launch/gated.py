"""Models a pod cannot download without a Hugging Face token.

Whether a model is gated is the Hub's to say, and the wizard asks the Hub nothing when it writes
a manifest for another machine; these organisations gate their models (all, or their best known
ones), so a run of theirs that names no token is worth a warning, not a refusal.
"""

from __future__ import annotations

from wizard.axolotl import keys as K
from wizard.axolotl.paths import HUB_ID
from wizard.axolotl.view import AxolotlConfig

GATED_ORGS = frozenset({"meta-llama", "mistralai", "google", "CohereLabs", "CohereForAI"})


def gated_model(config: AxolotlConfig) -> str | None:
    """The base model when it is a Hub id of an organisation that gates its models."""
    model = config.text(K.BASE_MODEL)
    if model and HUB_ID.fullmatch(model) and model.split("/")[0] in GATED_ORGS:
        return model
    return None
