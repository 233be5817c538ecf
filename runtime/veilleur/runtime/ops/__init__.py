"""Operations of the runtime service: metrics, clock and disk status, application logs,
configuration backups (EX-023 … EX-031, EX-118, EX-133).

Library code only: the HTTP API and the ``veilleur`` command wire these functions in.
"""

from __future__ import annotations

from typing import Literal

Level = Literal["vert", "jaune", "rouge"]
"""Health colour code shown to operators (EX-025)."""

__all__ = ["Level"]
