"""Deterministic synthetic CCTV scenes: the project's demo and test data (no real footage ships).

A fixed pinhole camera on a mast watches a paved plaza in perspective. People walk, gather,
rush, fall, drop bags or carry a weapon; cars drive by; a fire may start. Every clip comes with
its H.264 video, COCO boxes per frame, event ground truth and a site configuration
(contracts §3–§4). Same :class:`SynthParams` (seed included) → same bytes.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> manifest = generate(SynthParams(n_clips=1, duration_s=2.0), Path(tempfile.mkdtemp()))
    >>> manifest.clips[0].id
    'clip_0001'
"""

from __future__ import annotations

from veilleur.data.synth.bundle import (
    GENERATOR_VERSION,
    ClipRecord,
    Manifest,
    assign_scenarios,
    clip_seed,
    generate,
    generate_clip,
)
from veilleur.data.synth.params import SCENARIOS, Scenario, SynthParams

__all__ = [
    "GENERATOR_VERSION",
    "SCENARIOS",
    "ClipRecord",
    "Manifest",
    "Scenario",
    "SynthParams",
    "assign_scenarios",
    "clip_seed",
    "generate",
    "generate_clip",
]
