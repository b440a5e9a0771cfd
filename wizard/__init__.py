"""axolotl-wizard: turn a few answers into a correct, fast Axolotl fine-tuning run."""

__version__ = "0.1.0"

# The Axolotl release whose config schema and behaviour this version of the wizard targets.
AXOLOTL_TARGET_VERSION = "0.19.0"
