"""The ONNX detector on real footage with a real public detector (YOLOX-Nano, COCO)."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from veilleur.runtime.core.taxonomy import CLASS_IDS
from veilleur.runtime.detect.onnx import ModelError, OnnxDetector


@pytest.fixture(scope="module")
def yolox(shared_dir: Path) -> OnnxDetector:
    return OnnxDetector(shared_dir / "models" / "yolox_nano.onnx", confidence=0.3)


@pytest.fixture(scope="module")
def real_frames(shared_dir: Path) -> dict[int, np.ndarray]:
    want = {0, 100, 300, 500}
    out: dict[int, np.ndarray] = {}
    with av.open(str(shared_dir / "video" / "one-by-one-person-detection.mp4")) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in want:
                out[i] = f.to_ndarray(format="bgr24")
            if i > max(want):
                break
    return out


@pytest.mark.req("EX-047")
def test_yolox_finds_the_person_on_real_footage(yolox, real_frames):
    # Frames checked by eye: 100 and 300 show one person standing mid-right; 0 and 500 are empty.
    dets = yolox.detect_batch([real_frames[i] for i in (0, 100, 300, 500)])
    counts = [int((d.class_id == CLASS_IDS["person"]).sum()) for d in dets]
    assert counts == [0, 1, 1, 0]
    x1, _, x2, y2 = dets[1].xyxy[0]
    assert 350 < x1 < 420 and 480 < x2 < 560 and y2 > 350  # tall box in the frame's right half
    assert yolox.info.adapter == "yolox" and yolox.info.input_size == (416, 416)


def test_batch_equals_single(yolox, real_frames):
    single = yolox.detect(real_frames[100])
    batched = yolox.detect_batch([real_frames[0], real_frames[100]])[1]
    np.testing.assert_allclose(single.xyxy, batched.xyxy, atol=1e-3)


@pytest.mark.req("EX-131")
def test_hash_mismatch_refuses_to_load(shared_dir: Path):
    with pytest.raises(ModelError, match="does not match"):
        OnnxDetector(shared_dir / "models" / "yolox_nano.onnx", expected_sha256="0" * 64)


def test_sidecar_hash_is_enforced(shared_dir: Path, tmp_path: Path):
    model = tmp_path / "m.onnx"
    shutil.copy(shared_dir / "models" / "yolox_nano.onnx", model)
    (tmp_path / "m.onnx.json").write_text('{"sha256": "' + "1" * 64 + '"}')
    with pytest.raises(ModelError, match="was changed"):
        OnnxDetector(model)


@pytest.mark.parametrize(
    ("content", "message"), [(None, "not found"), (b"not an onnx file", "not a loadable")]
)
def test_bad_model_files(tmp_path: Path, content: bytes | None, message: str):
    p = tmp_path / "bad.onnx"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        OnnxDetector(p)
