"""Veilleur runtime: the light on-site core.

Sources, detector, tracker, analytics, rules, journal, API.

It never imports the training stack (torch, lightning, mlflow, fiftyone).
"""

from __future__ import annotations

__version__ = "0.1.0"
ENGINE_VERSION = __version__
