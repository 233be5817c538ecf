"""Detector adapters on tiny ONNX graphs that emit known tensors in each supported layout.

Input 96×96 (anchor count G = 12² + 6² + 3² = 189 over strides 8/16/32), frames 192×192: the
letterbox scale is 0.5, so frame boxes are twice the model's boxes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import yaml

from veilleur.runtime.config import ConfigError, ModelConfig, parse_site_config
from veilleur.runtime.core.taxonomy import CLASS_IDS
from veilleur.runtime.detect.adapters import grid_anchor_count, ultralytics_names
from veilleur.runtime.detect.class_maps import (
    COCO80,
    COCO_TO_TAXONOMY,
    builtin_class_map,
    load_class_map_file,
)
from veilleur.runtime.detect.onnx import ClassMapError, ModelError, OnnxDetector

G = grid_anchor_count((96, 96))
FRAME = np.zeros((192, 192, 3), np.uint8)
PERSON, CAR, DOG, TRUCK = (COCO80.index(c) for c in ("person", "car", "dog", "truck"))

# What every fixed model below "detects", in model (96×96) pixels, xyxy.
BOX_PERSON = (15.0, 20.0, 25.0, 40.0)
BOX_CAR = (50.0, 55.0, 70.0, 65.0)
BOX_DOG = (70.0, 10.0, 90.0, 30.0)
# person 0.9, car 0.8 (→ vehicle), dog 0.95 (dropped: not mapped), truck 0.7 on the car's box
# (→ vehicle as well: suppressed by the runtime's NMS after mapping)
DETS = [(BOX_PERSON, 0.9, PERSON), (BOX_CAR, 0.8, CAR), (BOX_DOG, 0.95, DOG), (BOX_CAR, 0.7, TRUCK)]
EXPECTED = [("person", 0.9, BOX_PERSON), ("vehicle", 0.8, BOX_CAR)]


def cxcywh(b: tuple[float, ...]) -> list[float]:
    return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]]


def v8_output(dets=DETS, num_classes: int = 80, anchors: int = G) -> np.ndarray:
    out = np.zeros((1, 4 + num_classes, anchors), np.float32)
    for a, (box, score, cls) in enumerate(dets):
        out[0, :4, a] = cxcywh(box)
        out[0, 4 + cls, a] = score
    return out


def v5_output(dets=DETS, num_classes: int = 80) -> np.ndarray:
    out = np.zeros((1, 3 * G, 5 + num_classes), np.float32)
    for a, (box, score, cls) in enumerate(dets):
        out[0, a, :4] = cxcywh(box)
        out[0, a, 4] = out[0, a, 5 + cls] = np.sqrt(score)  # objectness × class = score
    return out


def nms_separate(dets=DETS, k: int = 6) -> dict[str, np.ndarray]:
    boxes = np.zeros((1, k, 4), np.float32)
    scores = np.zeros((1, k), np.float32)
    labels = np.zeros((1, k), np.int64)
    for i, (box, score, cls) in enumerate(dets):
        boxes[0, i], scores[0, i], labels[0, i] = box, score, cls
    return {"boxes": boxes, "scores": scores, "labels": labels}


def k6_output(dets=DETS) -> np.ndarray:
    return np.array([[[*box, score, cls] for box, score, cls in dets]], np.float32)


def found(dets) -> list[tuple[str, float, tuple[float, ...]]]:
    names = list(CLASS_IDS)
    return [
        (names[int(c)], round(float(s), 3), tuple(round(float(v) / 2, 2) for v in box))
        for box, s, c in zip(dets.xyxy, dets.confidence, dets.class_id, strict=True)
    ]


def assert_expected(dets, expected=EXPECTED) -> None:
    got = sorted(found(dets))
    assert got == sorted((n, s, tuple(b)) for n, s, b in expected)


# --- each layout -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outputs", "layout"),
    [
        ({"output0": v8_output()}, "yolo v8 [N, 4 + C, A]"),
        ({"output0": v5_output()}, "yolo v5 [N, A, 5 + C]"),
    ],
    ids=["v8", "v5"],
)
def test_yolo_raw_outputs_decode_and_map(make_onnx, outputs, layout):
    det = OnnxDetector(make_onnx(outputs), confidence=0.3)
    assert det.info.adapter == "yolo" and det.info.layout == layout  # found by auto
    assert det.info.classes == COCO80 and det.info.preprocess.color == "RGB"
    assert_expected(det.detect(FRAME))


def test_yolo_explicit_adapter_and_batches(make_onnx):
    det = OnnxDetector(make_onnx({"output0": v8_output()}), adapter="yolo", confidence=0.3)
    a, b = det.detect_batch([FRAME, np.zeros((96, 96, 3), np.uint8)])
    assert_expected(a)
    assert len(b) == 2 and np.allclose(sorted(b.xyxy[:, 0]), [15, 50])  # scale 1


def test_nms_three_outputs(make_onnx):
    det = OnnxDetector(make_onnx(nms_separate()), confidence=0.3)
    assert det.info.adapter == "nms" and det.info.layout == "nms boxes/scores/labels"
    assert_expected(det.detect(FRAME))


def test_nms_outputs_matched_by_position_when_names_say_nothing(make_onnx):
    outs = nms_separate()
    renamed = {"out_a": outs["boxes"], "out_b": outs["scores"], "out_c": outs["labels"]}
    det = OnnxDetector(make_onnx(renamed), adapter="nms", confidence=0.3)
    assert_expected(det.detect(FRAME))


def test_nms_with_num_dets_ignores_padding(make_onnx):
    outs = nms_separate([*DETS[:2], (BOX_DOG, 0.99, PERSON)])  # third row: beyond num_dets
    outs["labels"] = outs["labels"].astype(np.float32)  # float labels are accepted
    det = OnnxDetector(make_onnx({"num_dets": np.array([[2]], np.int64), **outs}), confidence=0.3)
    assert det.info.adapter == "nms"
    assert_expected(det.detect(FRAME))


def test_nms_single_k6_output(make_onnx):
    det = OnnxDetector(make_onnx({"output0": k6_output()}), confidence=0.3)
    assert det.info.adapter == "nms" and det.info.layout == "nms [N, K, 6]"
    assert_expected(det.detect(FRAME))


def test_nms_k7_rows_go_to_their_image(make_onnx):
    rows = [[0, *box, cls, score] for box, score, cls in DETS]
    rows.append([1, *BOX_DOG, PERSON, 0.6])  # the only detection of the second image
    model = make_onnx({"dets": np.array(rows, np.float32)}, batched=False)
    det = OnnxDetector(model, confidence=0.3)
    assert det.info.adapter == "nms" and det.info.layout == "nms [K, 7]"
    first, second = det.detect_batch([FRAME, FRAME])
    assert_expected(first)
    assert_expected(second, [("person", 0.6, BOX_DOG)])


def test_nms_without_batch_axis_runs_one_image_at_a_time(make_onnx):
    outs = {k: v[0] for k, v in nms_separate().items()}  # [K, 4], [K], [K]
    det = OnnxDetector(make_onnx(outs, batched=False), adapter="nms", confidence=0.3)
    assert det.adapter.one_image_per_run
    for dets in det.detect_batch([FRAME, FRAME, FRAME]):
        assert_expected(dets)


def test_nms_labels_out_of_range_are_dropped(make_onnx, caplog):
    det = OnnxDetector(
        make_onnx(nms_separate([*DETS, (BOX_DOG, 0.9, 85), (BOX_DOG, 0.9, -1)])), confidence=0.3
    )
    with caplog.at_level(logging.WARNING):
        assert_expected(det.detect(FRAME))
        det.detect(FRAME)
    assert sum("outside 0..79" in r.message for r in caplog.records) == 1


def test_veilleur_contract_still_loads(make_onnx):
    out = np.zeros((1, 10, 4 + 2), np.float32)
    out[0, 0] = [*BOX_PERSON, 0.9, 0.1]
    out[0, 1] = [*BOX_CAR, 0.2, 0.8]
    meta = {
        "veilleur_contract": "1",
        "classes": '["person", "vehicle"]',
        "input_size": "[96, 96]",
    }
    det = OnnxDetector(make_onnx({"detections": out}, metadata=meta), confidence=0.3)
    assert det.info.adapter == "veilleur" and det.info.classes == ("person", "vehicle")
    assert_expected(det.detect(FRAME))


def test_synthetic_yolox_is_found_and_decoded(make_onnx):
    out = np.zeros((1, G, 85), np.float32)
    # anchor 13 = grid cell (x=1, y=1) at stride 8; centre (1.5 + 1) * 8 = 20, size e^0 * 8 = 8
    out[0, 13, :5] = [1.5, 1.5, 0.0, 0.0, 0.9]
    out[0, 13, 5 + PERSON] = 1.0
    det = OnnxDetector(make_onnx({"output": out}), confidence=0.3)
    assert det.info.adapter == "yolox" and det.info.preprocess.color == "BGR"
    assert_expected(det.detect(FRAME), [("person", 0.9, (16.0, 16.0, 24.0, 24.0))])


# --- auto and layout errors --------------------------------------------------------------


def test_auto_gives_up_on_an_unknown_layout(make_onnx):
    model = make_onnx({"output0": np.zeros((1, 10, 10), np.float32)})
    with pytest.raises(ModelError, match=r"cannot tell the output layout.*model\.adapter") as e:
        OnnxDetector(model)
    assert str(model) in str(e.value) and "[1, 10, 10]" in str(e.value)


@pytest.mark.parametrize(
    ("adapter", "outputs", "expected"),
    [
        ("yolox", {"output0": v8_output()}, "expected [N, 189, 5 + C] for input 96×96"),
        ("nms", {"output0": v8_output()}, "expected boxes [N, K, 4]"),
        ("yolo", {"output0": np.zeros((1, 189), np.float32)}, "expected [N, 4 + C, A]"),
        ("veilleur", {"output0": np.zeros((1, 189), np.float32)}, "expected [N, A, 4 + C]"),
    ],
)
def test_layout_mismatch_names_file_and_shapes(make_onnx, adapter, outputs, expected):
    model = make_onnx(outputs)
    with pytest.raises(ModelError, match="does not match the") as e:
        OnnxDetector(model, adapter=adapter)
    msg = str(e.value)
    assert str(model) in msg and expected in msg
    assert f"output0 {list(next(iter(outputs.values())).shape)}".replace("'", "") in msg


def test_veilleur_adapter_needs_the_contract_metadata(make_onnx):
    with pytest.raises(ModelError, match="veilleur_contract=None"):
        OnnxDetector(make_onnx({"out": np.zeros((1, 10, 6), np.float32)}), adapter="veilleur")


def test_class_count_disagreeing_with_coco_asks_for_source_classes(make_onnx):
    model = make_onnx({"output0": v8_output([], num_classes=3)})
    with pytest.raises(ModelError, match="has 3 class scores, but COCO") as e:
        OnnxDetector(model)
    assert "[1, 7, 189]" in str(e.value) and "source_classes" in str(e.value)


# --- wrong input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "actual"),
    [
        ({"input_shape": (1, 1, 96, 96)}, "float32 [1, 1, 96, 96]"),
        ({"input_shape": (1, 96, 96, 3)}, "float32 [1, 96, 96, 3]"),
        ({"input_shape": (1, 3, 96)}, "float32 [1, 3, 96]"),
        ({"input_type": np.float16}, "float16 [batch, 3, 96, 96]"),
        ({"input_type": np.uint8}, "uint8 [batch, 3, 96, 96]"),
    ],
)
def test_wrong_input_names_file_expected_and_actual(make_onnx, kwargs, actual):
    model = make_onnx({"output0": v8_output()}, **kwargs)
    with pytest.raises(ModelError) as e:
        OnnxDetector(model)
    msg = str(e.value)
    assert msg.startswith(str(model)) and actual in msg and "expected float32 [B, 3, H, W]" in msg


def test_more_than_one_input_is_refused(make_onnx):
    model = make_onnx({"output0": v8_output()}, extra_inputs=1)
    with pytest.raises(ModelError, match=r"2 inputs \(images \[batch, 3, 96, 96\], extra0 \[1\]\)"):
        OnnxDetector(model)


# --- class mapping -----------------------------------------------------------------------


def write_map(tmp_path: Path, doc, name: str = "map.yaml") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return p


def test_class_map_file_with_source_classes(make_onnx, tmp_path):
    dets = [(BOX_PERSON, 0.9, 0), (BOX_CAR, 0.8, 2), (BOX_DOG, 0.7, 1)]
    model = make_onnx({"output0": v8_output(dets, num_classes=3)})
    doc = {
        "source_classes": ["pieton", "chien", "couteau"],
        "map": {"pieton": "person", "couteau": "weapon"},
    }
    cmap = write_map(tmp_path, doc)
    det = OnnxDetector(model, class_map_file=cmap, confidence=0.3)
    assert det.info.classes == ("pieton", "chien", "couteau")
    assert_expected(det.detect(FRAME), [("person", 0.9, BOX_PERSON), ("weapon", 0.8, BOX_CAR)])


def test_ultralytics_names_metadata_give_the_classes(make_onnx, tmp_path):
    dets = [(BOX_PERSON, 0.9, 0), (BOX_CAR, 0.8, 1)]
    meta = {"author": "Ultralytics", "names": "{0: 'pieton', 1: 'voiture'}", "imgsz": "[96, 96]"}
    model = make_onnx({"output0": v8_output(dets, num_classes=2)}, metadata=meta)
    cmap = write_map(tmp_path, {"map": {"pieton": "person", "voiture": "vehicle"}})
    det = OnnxDetector(model, class_map_file=cmap, confidence=0.3)
    assert det.info.classes == ("pieton", "voiture")
    assert_expected(det.detect(FRAME), [("person", 0.9, BOX_PERSON), ("vehicle", 0.8, BOX_CAR)])
    # source_classes that contradict the metadata are refused
    bad = write_map(tmp_path, {"source_classes": ["a", "b"], "map": {"a": "person"}}, "bad.yaml")
    with pytest.raises(ClassMapError, match=r"bad\.yaml: source_classes disagree"):
        OnnxDetector(model, class_map_file=bad)


def test_inline_class_map_still_works(make_onnx):
    det = OnnxDetector(
        make_onnx({"output0": v8_output()}), class_map={"dog": "person"}, confidence=0.3
    )
    assert_expected(det.detect(FRAME), [("person", 0.95, BOX_DOG)])
    with pytest.raises(ClassMapError, match=r"model\.class_map: map\.dog: 'chien'"):
        OnnxDetector(make_onnx({"output0": v8_output()}), class_map={"dog": "chien"})


def test_unmapped_classes_are_logged_once(make_onnx, tmp_path, caplog):
    model = make_onnx({"output0": v8_output()})
    cmap = write_map(tmp_path, {"map": {"person": "person"}})
    with caplog.at_level(logging.INFO, logger="veilleur.runtime.detect.onnx"):
        det = OnnxDetector(model, class_map_file=cmap, confidence=0.3)
        det.detect(FRAME)
        det.detect(FRAME)
    lines = [r.message for r in caplog.records if "dropped" in r.message]
    assert len(lines) == 1 and "79 model classes" in lines[0] and "car" in lines[0]
    assert_expected(det.detect(FRAME), [("person", 0.9, BOX_PERSON)])


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"map": {"person": "person", "knife": "arme"}},
            r"map.yaml: map.knife: 'arme' is not a taxonomy class",
        ),
        (
            {"map": {"persn": "person"}},
            r"map.yaml: map.persn: 'persn' is not a class of model.onnx",
        ),
        (
            {"source_classes": ["a"], "map": {"b": "person"}},
            r"map.yaml: map.b: 'b' is not one of source_classes",
        ),
        (
            {"source_classes": ["a", "a"], "map": {}},
            r"(?s)map.yaml: invalid class map file.*duplicate",
        ),
        (
            {"mapping": {"person": "person"}},
            r"(?s)map.yaml: invalid class map file.*mapping: unknown field",
        ),
        ("map: [unclosed", r"map.yaml: not valid YAML"),
        ("- person", r"map.yaml: expected a mapping"),
    ],
)
def test_class_map_file_errors_name_the_file_and_key(make_onnx, tmp_path, doc, message):
    cmap = write_map(tmp_path, doc)
    with pytest.raises(ClassMapError, match=message):
        OnnxDetector(make_onnx({"output0": v8_output()}), class_map_file=cmap)


def test_missing_class_map_file(make_onnx, tmp_path):
    with pytest.raises(ClassMapError, match=r"nope.yaml: cannot read the class map file"):
        OnnxDetector(make_onnx({"output0": v8_output()}), class_map_file=tmp_path / "nope.yaml")


def test_class_map_and_class_map_file_together_are_refused(make_onnx, tmp_path):
    cmap = write_map(tmp_path, {"map": {"person": "person"}})
    with pytest.raises(ClassMapError, match="both class_map and class_map_file"):
        OnnxDetector(
            make_onnx({"output0": v8_output()}), class_map={"a": "person"}, class_map_file=cmap
        )
    doc = {
        "version": 1,
        "site": {"name": "x"},
        "model": {"path": "m.onnx", "class_map": {"a": "person"}, "class_map_file": "m.yaml"},
        "cameras": [{"id": "c", "source": {"url": "clip.mp4"}}],
    }
    with pytest.raises(ConfigError, match="model: Value error, give either class_map or class_"):
        parse_site_config(doc, "site.yaml")


def test_model_config_accepts_the_new_fields():
    mc = ModelConfig.model_validate(
        {"path": "m.onnx", "adapter": "nms", "class_map_file": "m.yaml", "manifest": "d.json"}
    )
    assert mc.adapter == "nms" and mc.class_map_file == Path("m.yaml")
    assert ModelConfig.model_validate({"path": "m.onnx", "adapter": "yolo"}).manifest is None


# --- built-in COCO map and timings --------------------------------------------------------


def test_coco_map_comes_from_the_packaged_yaml():
    coco = builtin_class_map("coco")
    assert coco.source_classes == COCO80 and len(COCO80) == 80
    assert COCO80[:4] == ("person", "bicycle", "car", "motorcycle") and COCO80[-1] == "toothbrush"
    assert coco.mapping == COCO_TO_TAXONOMY
    assert COCO_TO_TAXONOMY == {
        "person": "person", "bicycle": "bicycle",
        "car": "vehicle", "motorcycle": "vehicle", "bus": "vehicle", "truck": "vehicle",
        "backpack": "bag", "handbag": "bag", "suitcase": "bag", "knife": "weapon",
    }  # fmt: skip
    # and the packaged file is a valid class map file for sites to copy
    from importlib import resources

    path = resources.files("veilleur.runtime.detect") / "maps" / "coco.yaml"
    assert load_class_map_file(Path(str(path))).mapping == COCO_TO_TAXONOMY


def test_ultralytics_names_parsing():
    assert ultralytics_names({"names": "{0: 'a', 1: 'b'}"}) == ("a", "b")
    assert ultralytics_names({"names": "['a', 'b']"}) == ("a", "b")
    assert ultralytics_names({"names": "{1: 'a'}"}) is None
    assert ultralytics_names({"names": "__import__('os')"}) is None
    assert ultralytics_names({}) is None


def test_timings_accumulate(make_onnx):
    det = OnnxDetector(make_onnx({"output0": v8_output()}))
    assert det.timings == {"preprocess": 0.0, "inference": 0.0, "postprocess": 0.0}
    det.detect_batch([FRAME, FRAME])
    first = dict(det.timings)
    assert all(v > 0 for v in first.values())
    det.detect(FRAME)
    assert all(det.timings[k] > first[k] for k in first)


def test_resolve_providers() -> None:
    from veilleur.runtime.detect.onnx import resolve_providers

    cpu_only = ["CPUExecutionProvider"]
    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(None, cpu_only) == ["CPUExecutionProvider"]
    assert resolve_providers(None, gpu) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(["tensorrt", "cuda"], gpu) == gpu
    assert resolve_providers(["cpu"], gpu) == ["CPUExecutionProvider"]
    with pytest.raises(ModelError, match=r"'cuda' is not available here.*onnxruntime-gpu"):
        resolve_providers(["cuda"], cpu_only)
    with pytest.raises(ModelError, match="unknown execution provider 'rocm'"):
        resolve_providers(["rocm"], gpu)
