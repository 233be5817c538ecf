"""Rules engine: a camera's configured rules compiled into analysers, gated and combined.

Each detection rule becomes one analyser (the explicit registry :data:`ANALYZERS`). Around the
analysers the rule set applies what is not event logic: the run-time on/off switch (EX-021),
the weekly schedule in the site's local time (EX-041), the ``alert: false`` rules that only
feed composites, and composite rules that combine others with ET / OU / NON over a time window
(EX-032, EX-038).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from veilleur.runtime.analytics.base import NO_CUES, Analyzer, RuleHit, SceneCues
from veilleur.runtime.config import (
    AllOf,
    AnyOf,
    ArmeRule,
    CameraConfig,
    CompositeRule,
    Condition,
    DensiteRule,
    DetectionRule,
    FeuRule,
    FranchissementRule,
    MouvementFouleRule,
    ObjetAbandonneRule,
    PersonneAuSolRule,
    RuleConfig,
    SensCirculationRule,
    ZoneConfig,
)
from veilleur.runtime.core.calibration import GroundPlane
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.taxonomy import CLASS_IDS


@dataclass(frozen=True)
class BuildContext:
    """What an analyser may need beyond its rule: the camera's calibration and frame shape."""

    ground: GroundPlane | None = None
    frame_aspect: float = 16 / 9
    static_cue_s: float = 5.0
    """How long the camera's static-object detector waits before reporting a blob."""


def _pts(zone: ZoneConfig) -> np.ndarray:
    return np.asarray(zone.points, dtype=np.float32)


def _classes(rule: DetectionRule) -> frozenset[int]:
    return frozenset(CLASS_IDS[c] for c in rule.classes)


def _franchissement(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.lines import LineCrossing
    from veilleur.runtime.analytics.zones import ZonePresence

    assert isinstance(rule, FranchissementRule)
    if zone.kind == "line":
        a, b = _pts(zone)
        return LineCrossing(rule.id, zone.id, a, b, _classes(rule), rule.direction, rule.cooldown_s)
    return ZonePresence(
        rule.id, zone.id, _pts(zone), _classes(rule), rule.min_duration_s, rule.cooldown_s
    )


def _densite(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.zones import ZoneDensity

    assert isinstance(rule, DensiteRule)
    return ZoneDensity(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        rule.max_count,
        rule.min_duration_s,
        rule.cooldown_s,
        max_density_m2=rule.max_density_m2,
        count_correction=tuple(rule.count_correction) if rule.count_correction else None,
        ground=ctx.ground,
        frame_aspect=ctx.frame_aspect,
    )


def _sens(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.direction import WrongWay

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
        min_distance_m=rule.min_distance_m,
        ground=ctx.ground,
        frame_aspect=ctx.frame_aspect,
    )


def _foule(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.crowd import CrowdMovement

    assert isinstance(rule, MouvementFouleRule)
    return CrowdMovement(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        ground=ctx.ground,
        run_speed_mps=rule.run_speed_mps,
        min_tracks=rule.min_tracks,
        min_running_share=rule.min_running_share,
        speed_jump=rule.speed_jump,
        baseline_s=rule.baseline_s,
        min_duration_s=rule.min_duration_s,
        cooldown_s=rule.cooldown_s,
        frame_aspect=ctx.frame_aspect,
    )


def _abandon(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.abandoned import AbandonedObject

    assert isinstance(rule, ObjetAbandonneRule)
    return AbandonedObject(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        ground=ctx.ground,
        static_s=rule.static_s,
        owner_radius_m=rule.owner_radius_m,
        unattended_s=rule.unattended_s,
        use_static_cue=rule.use_static_cue,
        person_class_ids=frozenset({CLASS_IDS["person"]}),
        frame_aspect=ctx.frame_aspect,
        cooldown_s=rule.cooldown_s,
        blob_still_s=ctx.static_cue_s,
    )


def static_cue_s(camera: CameraConfig) -> float | None:
    """Delay of the camera's static-object cue (background modelling), None when unused.

    One detector serves every abandoned-object rule of the camera: it reports a blob after the
    shortest rule's ``static_s`` (at most 5 s, at least 0.5 s), and the rules credit blobs
    with that much stillness.
    """
    wanted = [
        r.static_s for r in camera.rules if isinstance(r, ObjetAbandonneRule) and r.use_static_cue
    ]
    if not wanted:
        return None
    return max(0.5, min(5.0, *wanted))


def _arme(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.weapon import WeaponPresence

    assert isinstance(rule, ArmeRule)
    return WeaponPresence(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        k=rule.k,
        n=rule.n,
        min_confidence=rule.min_confidence,
        cooldown_s=rule.cooldown_s,
    )


def _sol(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.fall import PersonOnGround

    assert isinstance(rule, PersonneAuSolRule)
    return PersonOnGround(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        min_lying_s=rule.min_lying_s,
        upright_before_s=rule.upright_before_s,
        cooldown_s=rule.cooldown_s,
        frame_aspect=ctx.frame_aspect,
    )


def _feu(rule: DetectionRule, zone: ZoneConfig, ctx: BuildContext) -> Analyzer:
    from veilleur.runtime.analytics.fire import FireGrowth

    assert isinstance(rule, FeuRule)
    return FireGrowth(
        rule.id,
        zone.id,
        _pts(zone),
        _classes(rule),
        k=rule.k,
        n=rule.n,
        min_growth=rule.min_growth,
        window_s=rule.window_s,
        min_confidence=rule.min_confidence,
        cooldown_s=rule.cooldown_s,
    )


ANALYZERS: dict[EventType, Callable[[DetectionRule, ZoneConfig, BuildContext], Analyzer]] = {
    EventType.FRANCHISSEMENT: _franchissement,
    EventType.DENSITE: _densite,
    EventType.SENS_CIRCULATION: _sens,
    EventType.MOUVEMENT_FOULE: _foule,
    EventType.OBJET_ABANDONNE: _abandon,
    EventType.ARME: _arme,
    EventType.PERSONNE_AU_SOL: _sol,
    EventType.FEU: _feu,
}
"""Event type → analyser factory: the eight events, and nothing else."""

METRIC_RULES: frozenset[type[DetectionRule]] = frozenset({MouvementFouleRule, ObjetAbandonneRule})
"""Rule types whose parameters are in metres: approximate without calibration."""


def degraded_reason(rule: RuleConfig, calibrated: bool) -> str | None:
    """Why a rule runs in degraded mode on an uncalibrated camera (French), else None."""
    if calibrated:
        return None
    if isinstance(rule, DensiteRule) and rule.max_density_m2 is not None:
        return (
            "Caméra non calibrée : la surface de la zone est estimée à partir de la taille "
            "apparente des personnes (densité approximative)."
        )
    if isinstance(rule, SensCirculationRule) and rule.min_distance_m > 0:
        return (
            "Caméra non calibrée : la distance parcourue à contresens est estimée à partir de "
            "la taille apparente des personnes."
        )
    if type(rule) in METRIC_RULES:
        return (
            "Caméra non calibrée : distances et vitesses estimées à partir de la taille "
            "apparente des personnes."
        )
    return None


def evaluate(cond: Condition, active: Callable[[str], bool]) -> bool:
    """Truth of a composite condition, given which rules are active."""
    if isinstance(cond, str):
        return active(cond)
    if isinstance(cond, AllOf):
        return all(evaluate(c, active) for c in cond.all_of)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, active) for c in cond.any_of)
    return not evaluate(cond.negated, active)


def in_schedule(rule: RuleConfig, now: datetime | None) -> bool:
    """Whether ``rule`` is active at local time ``now`` (None: no clock, always active)."""
    if not rule.schedule or now is None:
        return True
    minute = now.hour * 60 + now.minute
    return any(w.contains(now.weekday(), minute) for w in rule.schedule)


@dataclass
class CompiledRule:
    """One configured rule with its run-time state."""

    config: RuleConfig
    analyzer: Analyzer | None
    enabled: bool
    degraded: str | None = None
    last_hit: RuleHit | None = None
    composite_true: bool = False
    last_alert_t: float | None = None


@dataclass
class RuleSet:
    """All rules of one camera; fed with tracked detections in normalised coordinates."""

    camera: CameraConfig
    ctx: BuildContext = field(default_factory=BuildContext)
    rules: dict[str, CompiledRule] = field(init=False)

    def __post_init__(self) -> None:
        self.rules = {}
        for rule in self.camera.rules:
            analyzer = None
            if not isinstance(rule, CompositeRule):
                build = ANALYZERS[EventType(rule.type)]
                analyzer = build(rule, self.camera.zone(rule.zone), self.ctx)
            self.rules[rule.id] = CompiledRule(
                rule, analyzer, rule.enabled, degraded_reason(rule, self.ctx.ground is not None)
            )

    @property
    def analyzers(self) -> list[Analyzer]:
        return [r.analyzer for r in self.rules.values() if r.analyzer is not None and r.enabled]

    @property
    def degraded(self) -> dict[str, str]:
        """Rule id → why it runs degraded (French), for enabled rules only."""
        return {k: r.degraded for k, r in self.rules.items() if r.enabled and r.degraded}

    def set_enabled(self, rule_id: str, enabled: bool) -> None:
        """Switch a rule on or off at run time (EX-021); raises KeyError if unknown."""
        if rule_id not in self.rules:
            raise KeyError(f"no rule {rule_id!r} on camera {self.camera.id!r}")
        self.rules[rule_id].enabled = enabled

    def severity(self, rule_id: str) -> str:
        return self.rules[rule_id].config.severity

    def update(
        self,
        dets: Detections,
        t: float,
        cues: SceneCues = NO_CUES,
        now: datetime | None = None,
    ) -> list[RuleHit]:
        """Run every enabled rule on one frame; return the hits that become alerts.

        While the view is not the reference one (``cues.view_ok`` False), zone rules are
        suspended: their analysers see no frame.
        """
        if not cues.view_ok:
            return []
        out: list[RuleHit] = []
        for r in self.rules.values():
            if r.analyzer is None or not r.enabled:
                continue
            hits = r.analyzer.update(dets, t, cues)
            if not hits or not in_schedule(r.config, now):
                continue
            r.last_hit = hits[-1]
            if not isinstance(r.config, CompositeRule) and r.config.alert:
                out.extend(hits)
        for r in self.rules.values():
            if isinstance(r.config, CompositeRule) and r.enabled:
                hit = self._composite(r, r.config, t, now)
                if hit is not None:
                    out.append(hit)
        return out

    def _composite(
        self, r: CompiledRule, rule: CompositeRule, t: float, now: datetime | None
    ) -> RuleHit | None:
        def active(ref: str) -> bool:
            sub = self.rules[ref]
            return sub.enabled and sub.last_hit is not None and t - sub.last_hit.t <= rule.window_s

        now_true = evaluate(rule.when, active)
        rising = now_true and not r.composite_true
        r.composite_true = now_true
        if not rising or not in_schedule(rule, now):
            return None
        if r.last_alert_t is not None and t - r.last_alert_t < rule.cooldown_s:
            return None
        r.last_alert_t = t
        parts = [
            self.rules[ref].last_hit
            for ref, negated in _positive_refs(rule.when)
            if not negated and active(ref)
        ]
        hits = [h for h in parts if h is not None]
        track_ids = tuple(sorted({tid for h in hits for tid in h.track_ids}))
        boxes = tuple(b for h in hits for b in h.boxes)
        zones = sorted({h.zone for h in hits if h.zone})
        return RuleHit(
            rule_id=rule.id,
            event=EventType(rule.event),
            zone=",".join(zones) or None,
            start_s=min((h.start_s for h in hits), default=t),
            t=t,
            confidence=min((h.confidence for h in hits), default=1.0),
            track_ids=track_ids,
            boxes=boxes,
        )


def _positive_refs(cond: Condition) -> list[tuple[str, bool]]:
    from veilleur.runtime.config import condition_refs

    return condition_refs(cond)
