"""Rules engine: compiles a camera's configured rules into analysers (the explicit registry)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from veilleur.runtime.analytics.base import Analyzer, RuleHit
from veilleur.runtime.analytics.direction import WrongWay
from veilleur.runtime.analytics.lines import LineCrossing
from veilleur.runtime.analytics.zones import ZoneDensity, ZonePresence
from veilleur.runtime.config import (
    CameraConfig,
    DensiteRule,
    FranchissementRule,
    RuleConfig,
    SensCirculationRule,
    ZoneConfig,
)
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.taxonomy import CLASS_IDS


def _pts(zone: ZoneConfig) -> np.ndarray:
    return np.asarray(zone.points, dtype=np.float32)


def _classes(rule: RuleConfig) -> frozenset[int]:
    return frozenset(CLASS_IDS[c] for c in rule.classes)


def _franchissement(rule: RuleConfig, zone: ZoneConfig) -> Analyzer:
    assert isinstance(rule, FranchissementRule)
    if zone.kind == "line":
        a, b = _pts(zone)
        return LineCrossing(rule.id, zone.id, a, b, _classes(rule), rule.direction, rule.cooldown_s)
    return ZonePresence(
        rule.id, zone.id, _pts(zone), _classes(rule), rule.min_duration_s, rule.cooldown_s
    )


def _densite(rule: RuleConfig, zone: ZoneConfig) -> Analyzer:
    assert isinstance(rule, DensiteRule)
    return ZoneDensity(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        rule.max_count,
        rule.min_duration_s,
        rule.cooldown_s,
    )


def _sens(rule: RuleConfig, zone: ZoneConfig) -> Analyzer:
    assert isinstance(rule, SensCirculationRule)
    return WrongWay(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        np.asarray(rule.allowed_direction, dtype=np.float32),
        rule.tolerance_deg,
        rule.min_duration_s,
        rule.min_speed,
        cooldown_s=rule.cooldown_s,
    )


ANALYZERS: dict[EventType, Callable[[RuleConfig, ZoneConfig], Analyzer]] = {
    EventType.FRANCHISSEMENT: _franchissement,
    EventType.DENSITE: _densite,
    EventType.SENS_CIRCULATION: _sens,
}
"""Event types the engine implements, and how each rule becomes an analyser."""


class RuleSet:
    """The enabled rules of one camera, fed with tracked detections in normalised coordinates."""

    def __init__(self, camera: CameraConfig) -> None:
        self.analyzers: list[Analyzer] = []
        for rule in camera.rules:
            if rule.enabled:
                build = ANALYZERS[EventType(rule.type)]
                self.analyzers.append(build(rule, camera.zone(rule.zone)))

    def update(self, dets: Detections, t: float) -> list[RuleHit]:
        hits: list[RuleHit] = []
        for a in self.analyzers:
            hits.extend(a.update(dets, t))
        return hits
