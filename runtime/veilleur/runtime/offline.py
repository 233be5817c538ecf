"""Air-gapped by construction (EX-110, ARCH-002, ARCH-005): no telemetry, no update checks.

Call :func:`air_gap` first in every entry point, before MLflow, albumentations, FiftyOne,
great-expectations or DVC are imported: they read these variables at import time.
"""

from __future__ import annotations

import os
from typing import Final

AIR_GAP_ENV: Final[dict[str, str]] = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "FIFTYONE_DO_NOT_TRACK": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
}


def air_gap() -> None:
    """Turn off telemetry and update checks, overriding any value already set."""
    os.environ.update(AIR_GAP_ENV)
