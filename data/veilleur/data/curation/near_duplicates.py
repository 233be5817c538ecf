"""Perceptual hashes and the near-duplicate policy of the prepared dataset (EX-086).

Hashes are computed here with OpenCV and NumPy (no model, nothing downloaded):

- ``phash`` (default): the image in grey levels, resized to 32×32, its 2-D DCT; the 8×8
  lowest frequencies except the DC term are compared with their median, one bit each (63 bits
  used, bit 0 is the DC and always 0). Robust to re-encoding, small brightness or contrast
  changes and resizing; sensitive to what the scene shows.
- ``dhash``: the image resized to 9×8, one bit per horizontal neighbour pair (left brighter than
  right); cheaper, a little less robust to brightness gradients.

Two images are near-duplicates when the Hamming distance of their hashes is at most
``hamming_threshold`` (``curate`` section of ``params.yaml``, 6 by default). Measured pHash
distances: the same frame re-encoded (JPEG quality 20–50), brightened by 10 %, blurred, resized
or shifted by 8 px: 0–2; two unrelated scenes: 26–42; frames of two different clips of the
synthetic demo (36 clips, 1800 frames): 10 at the closest, 16 median; consecutive prepared
frames of one clip: median 2, 80 % at most 6 (a fixed camera). dHash is much less
discriminating on the synthetic scenes (different clips from distance 3), hence pHash by
default.

Policy (:func:`plan_near_duplicates`), applied per split:

- **Within one clip, nothing is removed.** Frames of one clip taken every ``frame_stride``
  frames from a fixed camera look alike by construction (a quiet scene changes by a few pixels
  between two sampled frames): removing them would empty static scenes, break the tracks that
  the missing-label check and the tracker need, and the split already keeps a clip whole, so
  these look-alikes cannot leak. Their weight in training is a sampling question
  (``frame_stride``), not a curation one.
- **Across clips of one split, one image per near-duplicate group is kept.** The same footage
  exported twice, two overlapping extracts of one recording, a still image copied into two
  folders: these add no information and over-weight a scene. Images are visited in the order
  (clip, file name); an image is removed when an already kept image of *another* clip is within
  the threshold. Hence every removed image has a kept near-duplicate in another clip of its
  split, and no two kept images of different clips are near-duplicates.
- **Across splits, a near-duplicate is a leak** (the model would be evaluated on what it saw
  in training): it is reported as an error naming both files, nothing is removed (which copy to
  drop is a decision on the split, see :mod:`veilleur.data.splits`).

Example:
    >>> import numpy as np
    >>> img = np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))
    >>> hamming(phash(img), phash(np.clip(img.astype(int) + 8, 0, 255).astype(np.uint8)))
    0
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

HashMethod = Literal["phash", "dhash"]
HASH_METHODS: tuple[HashMethod, ...] = ("phash", "dhash")


def _grey(pixels: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if pixels.ndim == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)  # type: ignore[return-value]
    return pixels


def _bits_to_int(bits: NDArray[np.bool_]) -> int:
    value = 0
    for bit in bits.ravel():
        value = (value << 1) | int(bit)
    return value


def phash(pixels: NDArray[np.uint8]) -> int:
    """64-bit DCT perceptual hash of a BGR or grey image (see the module docstring)."""
    small = cv2.resize(_grey(pixels), (32, 32), interpolation=cv2.INTER_AREA)
    dct = cv2.dct(small.astype(np.float32))[:8, :8].copy()
    dct[0, 0] = 0.0
    median = float(np.median(dct.ravel()[1:]))
    bits = dct > median
    bits[0, 0] = False
    return _bits_to_int(bits)


def dhash(pixels: NDArray[np.uint8]) -> int:
    """64-bit difference hash of a BGR or grey image (see the module docstring)."""
    small = cv2.resize(_grey(pixels), (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    return _bits_to_int(small[:, :-1] > small[:, 1:])


def image_hash(pixels: NDArray[np.uint8], method: HashMethod = "phash") -> int:
    """The hash of ``pixels`` by ``method``."""
    return phash(pixels) if method == "phash" else dhash(pixels)


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two hashes."""
    return (a ^ b).bit_count()


def hash_file(path: Path, method: HashMethod = "phash") -> int | None:
    """Hash of an image file, or ``None`` when it cannot be decoded.

    JPEGs are decoded at a quarter of their size in grey levels (libjpeg's DCT scaling): the
    hash only looks at 32×32 pixels, and this divides the decoding time by about four.
    """
    pixels = cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_4)
    if pixels is None or pixels.size == 0:
        return None
    return image_hash(np.asarray(pixels, dtype=np.uint8), method)


def hash_files(
    paths: Sequence[Path], method: HashMethod = "phash", workers: int = 2
) -> list[int | None]:
    """:func:`hash_file` of each path, in order (OpenCV releases the GIL: threads help)."""
    if workers <= 1 or len(paths) < 64:
        return [hash_file(p, method) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: hash_file(p, method), paths, chunksize=64))


@dataclass(frozen=True, slots=True)
class HashedImage:
    """One image of the prepared dataset and its hash."""

    sample_id: str  # "<split>/<file_name>", the path relative to the prepared folder
    split: str
    clip: str
    hash: int


@dataclass(frozen=True, slots=True)
class NearPair:
    """Two near-duplicate images and the Hamming distance of their hashes."""

    a: str
    b: str
    distance: int


@dataclass(frozen=True, slots=True)
class Removal:
    """An image removed because ``kept`` (another clip, same split) is its near-duplicate."""

    sample_id: str
    kept: str
    distance: int


@dataclass(frozen=True, slots=True)
class NearDuplicatePlan:
    """What the policy decides: removals within splits, leaks across splits."""

    removals: tuple[Removal, ...]
    leaks: tuple[NearPair, ...]
    same_clip_pairs: int  # near-duplicate pairs inside a clip (expected, kept)

    def groups(self) -> dict[str, list[str]]:
        """Kept image → the images removed in its favour (sorted)."""
        out: dict[str, list[str]] = {}
        for r in self.removals:
            out.setdefault(r.kept, []).append(r.sample_id)
        return {k: sorted(v) for k, v in sorted(out.items())}


def near_pairs(images: Sequence[HashedImage], threshold: int) -> list[tuple[int, int, int]]:
    """Every pair ``(i, j, distance)`` with ``i < j`` whose distance is at most ``threshold``."""
    if not images:
        return []
    hashes = np.array([im.hash for im in images], dtype=np.uint64)
    pairs: list[tuple[int, int, int]] = []
    for i in range(len(hashes) - 1):
        dist = np.bitwise_count(hashes[i + 1 :] ^ hashes[i])
        for k in np.flatnonzero(dist <= threshold):
            pairs.append((i, i + 1 + int(k), int(dist[k])))
    return pairs


def plan_near_duplicates(images: Sequence[HashedImage], threshold: int) -> NearDuplicatePlan:
    """Apply the policy of the module docstring to ``images`` (any order; result is sorted)."""
    order = sorted(range(len(images)), key=lambda i: (images[i].split, images[i].clip,
                                                      images[i].sample_id))  # fmt: skip
    ranked = [images[i] for i in order]
    earlier: dict[int, list[tuple[int, int]]] = {}
    leaks: list[NearPair] = []
    same_clip = 0
    for i, j, d in near_pairs(ranked, threshold):
        a, b = ranked[i], ranked[j]
        if a.split != b.split:
            x, y = sorted((a.sample_id, b.sample_id))
            leaks.append(NearPair(x, y, d))
        elif a.clip == b.clip:
            same_clip += 1
        else:
            earlier.setdefault(j, []).append((i, d))
    kept = [True] * len(ranked)
    removals: list[Removal] = []
    for j in range(len(ranked)):
        candidates = [(d, i) for i, d in earlier.get(j, []) if kept[i]]
        if candidates:
            d, i = min(candidates)
            kept[j] = False
            removals.append(Removal(ranked[j].sample_id, ranked[i].sample_id, d))
    return NearDuplicatePlan(
        removals=tuple(sorted(removals, key=lambda r: r.sample_id)),
        leaks=tuple(sorted(leaks, key=lambda p: (p.a, p.b))),
        same_clip_pairs=same_clip,
    )
