"""Split clips into train / val / test, by clip, deterministically and stratified (EX-086).

Pure: no I/O, no clock, no global random state. A clip is the unit of the split, so every frame
of a clip lands in the same split: frames of one clip are near-duplicates and would otherwise leak
from training into evaluation.

Stratification is over ``(scenario, negative)``; each stratum is shared between the splits in
proportion to the fractions, under the global split sizes, with two guarantees first:

- the test split receives at least one clip of every *event* scenario (``negative`` false) that
  has at least two clips, so that evaluation can report every event while training still sees
  it; a scenario with a single clip goes where the fractions put it, and is listed in
  :attr:`Splits.notes`;
- then the train split receives one clip of every stratum that still has one;
- no split is ever empty (at least three clips are needed).

**Grouping by scene.** Clips filmed by one camera on one site share their background: when clips
carry a ``group`` (the scene, e.g. :func:`veilleur.data.slices.scene_of` of an ingested clip's
provenance), every clip of a group lands in the same split, so no scene leaks from training
into evaluation. Groups are then the unit: each is stratified by the most common
``(scenario, negative)`` of its clips, the same two guarantees apply to groups, and the rest go,
largest first, to the split furthest below its share of *clips*. At least three groups are
needed. Clips without a group form a group of their own (the synthetic demo: each clip is
filmed by its own virtual camera), which gives exactly the split by clip above.

Example:
    >>> clips = [SplitClip(f"clip_{i:04d}", "franchissement", False) for i in range(5)]
    >>> s = split_clips(clips, SplitFractions(), seed=0)
    >>> sorted(s.train + s.val + s.test) == [c.clip_id for c in clips]
    True
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, Field, model_validator

SplitName = Literal["train", "val", "test"]
SPLITS: Final[tuple[SplitName, ...]] = ("train", "val", "test")


class SplitError(ValueError):
    """The clips cannot be split as asked; the message says what to change."""


class SplitFractions(BaseModel, frozen=True, extra="forbid"):
    """Target share of clips per split; each in (0, 1), summing to 1."""

    train: float = Field(default=0.6, gt=0.0, lt=1.0, description="share of clips for training")
    val: float = Field(default=0.2, gt=0.0, lt=1.0, description="share of clips for validation")
    test: float = Field(default=0.2, gt=0.0, lt=1.0, description="share of clips for the test")

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitFractions:
        total = self.train + self.val + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(
                f"split fractions must sum to 1, got train={self.train} + val={self.val} + "
                f"test={self.test} = {total:g}; adjust them"
            )
        return self

    def of(self, split: SplitName) -> float:
        """The fraction of ``split``."""
        return float(getattr(self, split))


@dataclass(frozen=True, slots=True)
class SplitClip:
    """What the splitter needs to know of a clip."""

    clip_id: str
    scenario: str
    negative: bool
    group: str | None = None
    """The scene (site/camera) of the clip; ``None``: the clip is its own group."""
    slices: tuple[str, ...] = ()
    """Clip-level slice values (``"weather=rain"``, ``"lighting=night"`` …): every value held
    by at least three clips is brought into train and test when splitting by clip (scenes,
    when grouped, are not swapped)."""


@dataclass(frozen=True, slots=True)
class Splits:
    """Clip ids per split (each sorted), and notes on what could not be honoured."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def of(self, split: SplitName) -> tuple[str, ...]:
        """The clip ids of ``split``."""
        ids: tuple[str, ...] = getattr(self, split)
        return ids

    def split_of(self, clip_id: str) -> SplitName:
        """The split holding ``clip_id``.

        Raises:
            KeyError: when the clip is in no split.
        """
        for split in SPLITS:
            if clip_id in self.of(split):
                return split
        raise KeyError(f"clip {clip_id!r} is in no split")

    def as_dict(self) -> dict[str, list[str]]:
        """``{"train": [...], "val": [...], "test": [...]}``."""
        return {split: list(self.of(split)) for split in SPLITS}


def target_sizes(n: int, fractions: SplitFractions) -> dict[SplitName, int]:
    """Split sizes for ``n`` clips: largest remainder on the fractions, at least 1 each.

    Raises:
        SplitError: when ``n`` < 3.
    """
    if n < len(SPLITS):
        raise SplitError(
            f"need at least {len(SPLITS)} clips to fill train, val and test, got {n}; "
            "generate more clips"
        )
    quotas = {s: n * fractions.of(s) for s in SPLITS}
    sizes: dict[SplitName, int] = {s: max(1, math.floor(q)) for s, q in quotas.items()}
    # Give out (or take back) clips by largest remainder until the sizes sum to n.
    while sum(sizes.values()) < n:
        best = max(SPLITS, key=lambda s: (quotas[s] - sizes[s], -SPLITS.index(s)))
        sizes[best] += 1
    while sum(sizes.values()) > n:
        best = max(
            (s for s in SPLITS if sizes[s] > 1),
            key=lambda s: (sizes[s] - quotas[s], SPLITS.index(s)),
        )
        sizes[best] -= 1
    return sizes


def split_clips(clips: Sequence[SplitClip], fractions: SplitFractions, seed: int) -> Splits:
    """Assign every clip to exactly one of train / val / test.

    Args:
        clips: the clips, in any order (the result does not depend on it).
        fractions: target share of clips per split.
        seed: seed of the shuffle inside each stratum; same inputs and seed, same splits.

    Returns:
        The clip ids per split, each sorted.

    Raises:
        SplitError: fewer than 3 clips, or a clip id given twice.
    """
    duplicates = sorted(i for i, n in Counter(c.clip_id for c in clips).items() if n > 1)
    if duplicates:
        raise SplitError(f"clip ids must be unique; given more than once: {duplicates}")
    groups: dict[str, list[SplitClip]] = {}
    for clip in sorted(clips, key=lambda c: c.clip_id):
        groups.setdefault(clip.group if clip.group is not None else clip.clip_id, []).append(clip)
    if any(len(members) > 1 for members in groups.values()):
        return _split_groups(groups, fractions, seed)
    targets = target_sizes(len(clips), fractions)
    rng = random.Random(seed)

    strata: dict[tuple[str, bool], list[str]] = {}
    for clip in sorted(clips, key=lambda c: c.clip_id):
        strata.setdefault((clip.scenario, clip.negative), []).append(clip.clip_id)
    for key in sorted(strata):
        rng.shuffle(strata[key])

    assigned: dict[SplitName, list[str]] = {s: [] for s in SPLITS}
    pending: dict[tuple[str, bool], list[str]] = {key: list(v) for key, v in strata.items()}
    notes: list[str] = []

    # 1. Coverage: one clip of every event scenario with >= 2 clips goes to test.
    for key in sorted(strata):
        scenario, negative = key
        if negative:
            continue
        if len(strata[key]) >= 2:
            assigned["test"].append(pending[key].pop(0))
        else:
            notes.append(
                f"event scenario {scenario!r} has a single clip ({strata[key][0]}): it cannot be "
                "in both training and test; generate more clips of it"
            )

    # 2. Then one clip of every stratum still holding clips goes to train, leaving enough clips
    #    to fill the other splits.
    for key in sorted(strata):
        left = sum(len(v) for v in pending.values())
        still_empty = sum(1 for s in ("val", "test") if not assigned[s])
        if pending[key] and left - 1 >= still_empty:
            assigned["train"].append(pending[key].pop(0))

    # 3. The rest, large strata first, shared in proportion to the room left in each split; the
    #    last clips go to still-empty splits.
    room = {s: max(0, targets[s] - len(assigned[s])) for s in SPLITS}
    total_room = sum(room.values())
    share = {s: (room[s] / total_room if total_room else fractions.of(s)) for s in SPLITS}
    remaining = sum(len(v) for v in pending.values())
    for key in sorted(strata, key=lambda k: (-len(strata[k]), k)):
        local: dict[SplitName, int] = dict.fromkeys(SPLITS, 0)
        for done, clip_id in enumerate(pending[key]):
            empty = [s for s in SPLITS if not assigned[s]]
            if empty and remaining <= len(empty):
                candidates = empty
            else:
                candidates = [s for s in SPLITS if len(assigned[s]) < targets[s]] or list(SPLITS)

            def score(
                s: SplitName, done: int = done, local: dict[SplitName, int] = local
            ) -> tuple[float, int, int]:
                local_deficit = (done + 1) * share[s] - local[s]
                global_deficit = targets[s] - len(assigned[s])
                return (round(local_deficit, 9), global_deficit, -SPLITS.index(s))

            best = max(candidates, key=score)
            assigned[best].append(clip_id)
            local[best] += 1
            remaining -= 1

    notes.extend(_cover_slices(assigned, {c.clip_id: c for c in clips}))
    return Splits(
        train=tuple(sorted(assigned["train"])),
        val=tuple(sorted(assigned["val"])),
        test=tuple(sorted(assigned["test"])),
        notes=tuple(notes),
    )


def _cover_slices(
    assigned: dict[SplitName, list[str]], clips: Mapping[str, SplitClip]
) -> list[str]:
    """Bring every slice value held by at least three clips into train and into test.

    A missing value is brought in by swapping one of its clips, taken from a split holding
    two or more of them, with a clip of the same ``(scenario, negative)`` stratum in the
    lacking split, chosen so that no value loses its last clip there; split sizes and the
    scenario balance are unchanged. Values that cannot be brought in are returned as notes.
    """
    notes: list[str] = []
    values = Counter(v for c in clips.values() for v in c.slices)

    def count(split: SplitName, value: str) -> int:
        return sum(value in clips[c].slices for c in assigned[split])

    for value in sorted(v for v, n in values.items() if n >= len(SPLITS)):
        for lacking in ("test", "train"):
            if count(lacking, value):
                continue
            swap = None
            for donor in SPLITS:
                if donor == lacking or count(donor, value) < 2:
                    continue
                for give in sorted(c for c in assigned[donor] if value in clips[c].slices):
                    stratum = (clips[give].scenario, clips[give].negative)
                    for take in sorted(assigned[lacking]):
                        other = clips[take]
                        if (other.scenario, other.negative) != stratum:
                            continue
                        if any(count(lacking, v) == 1 for v in other.slices if v not in
                               clips[give].slices):  # fmt: skip
                            continue
                        swap = (donor, give, take)
                        break
                    if swap:
                        break
                if swap:
                    break
            if swap is None:
                notes.append(
                    f"slice {value} ({values[value]} clips) has no clip in {lacking}: no clip "
                    "of the same scenario could be swapped; add clips with it"
                )
                continue
            donor, give, take = swap
            assigned[donor][assigned[donor].index(give)] = take
            assigned[lacking][assigned[lacking].index(take)] = give
    return notes


def _stratum(members: Sequence[SplitClip]) -> tuple[str, bool]:
    """The most common ``(scenario, negative)`` of a group (ties: the smallest)."""
    counts = Counter((c.scenario, c.negative) for c in members)
    return min(counts, key=lambda k: (-counts[k], k))


def _split_groups(
    groups: dict[str, list[SplitClip]], fractions: SplitFractions, seed: int
) -> Splits:
    """:func:`split_clips` with groups (scenes) as the unit; see the module docstring."""
    if len(groups) < len(SPLITS):
        raise SplitError(
            f"need at least {len(SPLITS)} scenes (groups of clips: camera/site) to fill train, "
            f"val and test without a scene in two splits, got {len(groups)}: {sorted(groups)}; "
            "add clips from other cameras or sites"
        )
    n_clips = sum(len(m) for m in groups.values())
    targets = target_sizes(n_clips, fractions)
    rng = random.Random(seed)
    strata: dict[tuple[str, bool], list[str]] = {}
    for name in sorted(groups):
        strata.setdefault(_stratum(groups[name]), []).append(name)
    for key in sorted(strata):
        rng.shuffle(strata[key])
    pending = {k: list(v) for k, v in strata.items()}
    assigned: dict[SplitName, list[str]] = {s: [] for s in SPLITS}
    size = dict.fromkeys(SPLITS, 0)
    notes: list[str] = []

    def put(split: SplitName, group: str) -> None:
        assigned[split].append(group)
        size[split] += len(groups[group])

    for key in sorted(strata):  # 1. one scene of every event stratum with >= 2 scenes to test
        scenario, negative = key
        if negative:
            continue
        if len(strata[key]) >= 2:
            put("test", pending[key].pop(0))
        else:
            notes.append(
                f"event scenario {scenario!r} is mostly in a single scene ({strata[key][0]}): "
                "it cannot be in both training and test; add scenes with it"
            )
    for key in sorted(strata):  # 2. then one scene of every stratum to train
        left = sum(len(v) for v in pending.values())
        still_empty = sum(1 for s in ("val", "test") if not assigned[s])
        if pending[key] and left - 1 >= still_empty:
            put("train", pending[key].pop(0))
    rest = [g for key in sorted(strata) for g in pending[key]]
    rest.sort(key=lambda g: -len(groups[g]))  # stable: the shuffled order breaks ties
    for done, group in enumerate(rest):
        empty = [s for s in SPLITS if not assigned[s]]
        candidates = empty if empty and len(rest) - done <= len(empty) else list(SPLITS)
        best = max(
            candidates,
            key=lambda s: ((targets[s] - size[s]) / targets[s], -SPLITS.index(s)),
        )
        put(best, group)
    notes.append(
        f"split by scene: {len(groups)} scenes for {n_clips} clips; clips per split "
        + ", ".join(f"{s} {size[s]} (target {targets[s]})" for s in SPLITS)
    )
    return Splits(
        train=tuple(sorted(c.clip_id for g in assigned["train"] for c in groups[g])),
        val=tuple(sorted(c.clip_id for g in assigned["val"] for c in groups[g])),
        test=tuple(sorted(c.clip_id for g in assigned["test"] for c in groups[g])),
        notes=tuple(notes),
    )
