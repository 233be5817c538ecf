"""Air-gapped process environment for the training stages.

Call :func:`air_gap` first in every stage entry point, before mlflow or albumentations are
imported: both read these variables at import time (telemetry, update checks).
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
}


def air_gap() -> None:
    """Turn off telemetry and update checks, overriding any value already set."""
    os.environ.update(AIR_GAP_ENV)
