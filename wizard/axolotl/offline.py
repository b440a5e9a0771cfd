"""The environment that keeps Axolotl and the Hugging Face libraries off the network.

Used where the wizard itself starts Axolotl for something that needs nothing from outside: its
own validation child, and the demo (on an offline machine Axolotl's telemetry flush otherwise
retries for minutes at exit).
"""

from __future__ import annotations

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "AXOLOTL_DO_NOT_TRACK": "1"}
