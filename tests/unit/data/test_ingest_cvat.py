"""Ingest of CVAT XML 1.1: images, and video with tracks, track ids and clip events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_fixture import TAXONOMY, write_image, write_source, write_video

from veilleur.data.ingest import (
    IngestedDataset,
    IngestError,
    export_prepared,
    ingest,
    load_source_config,
    load_taxonomy,
)
from veilleur.data.prepare import PrepareParams
from veilleur.runtime.core.events import EventType

IMAGES_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>t</name><labels>
    <label><name>person</name></label><label><name>suitcase</name></label>
  </labels></task></meta>
  <image id="0" name="a.jpg" width="320" height="240">
    <box label="person" occluded="1" xtl="10" ytl="20" xbr="40" ybr="100" z_order="0">
      <attribute name="posture">standing</attribute>
    </box>
    <box label="suitcase" occluded="0" xtl="100" ytl="150" xbr="130" ybr="180"/>
    <polygon label="person" points="1,1;5,5;1,5"/>
  </image>
  <image id="1" name="b.jpg" width="320" height="240"/>
</annotations>
"""


def _video_xml(source: str = "clip1.mp4", extra: str = "") -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>v</name><size>10</size><mode>interpolation</mode>
    <start_frame>0</start_frame><stop_frame>9</stop_frame>
    <labels><label><name>person</name></label><label><name>car</name></label></labels>
    <original_size><width>320</width><height>240</height></original_size>
    <source>{source}</source>
  </task></meta>
  <track id="3" label="person" source="manual">
    <box frame="0" outside="0" occluded="0" keyframe="1" xtl="10" ytl="10" xbr="30" ybr="70"/>
    <box frame="4" outside="0" occluded="0" keyframe="1" xtl="50" ytl="10" xbr="70" ybr="70"/>
    <box frame="5" outside="1" occluded="0" keyframe="1" xtl="50" ytl="10" xbr="70" ybr="70"/>
  </track>
  <track id="7" label="car" source="manual">
    <box frame="2" outside="0" occluded="0" keyframe="1" xtl="100" ytl="100" xbr="200" ybr="160"/>
    <box frame="9" outside="0" occluded="0" keyframe="1" xtl="100" ytl="100" xbr="200" ybr="160"/>
  </track>{extra}
</annotations>
"""


def _load(src: Path) -> IngestedDataset:
    return ingest(src, "cvat", load_source_config(src / "source.yaml"), load_taxonomy(TAXONOMY))


@pytest.mark.req("EX-047", "EX-048", "EX-084")
def test_cvat_images(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_image(src / "images" / "a.jpg")
    write_image(src / "images" / "b.jpg")
    (src / "annotations.xml").write_text(IMAGES_XML, encoding="utf-8")
    write_source(src, "cvat-img")
    ds = _load(src)
    a, b = sorted(ds.samples, key=lambda s: s.provenance.source_path)
    assert [(x.label, x.source_label) for x in a.boxes] == [
        ("person", "person"), ("bag", "suitcase"),
    ]  # fmt: skip
    assert a.boxes[0].attributes == {"posture": "standing", "occluded": "1"}
    assert b.boxes == () and ds.report.boxes == 2
    assert a.provenance.source_format == "cvat" and a.provenance.annotation


@pytest.mark.req("EX-047", "EX-048", "EX-084", "EX-086")
def test_cvat_video_tracks_interpolated_and_events(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_video(src / "clip1.mp4", frames=10, fps=10)
    frame_8 = """
  <image id="8" name="frame_000008" width="320" height="240">
    <box label="person" xtl="200" ytl="20" xbr="220" ybr="60"/>
  </image>"""
    (src / "annotations.xml").write_text(_video_xml(extra=frame_8), encoding="utf-8")
    (src / "clip1.events.json").write_text(
        json.dumps({"events": [{"type": "franchissement", "start_s": 0.2, "end_s": 0.6,
                                "zone": "zone-a", "track_ids": [3]}]}),
        encoding="utf-8",
    )  # fmt: skip
    write_source(src, "cvat-vid", metadata={"lighting": "night", "weather": "rain"})
    ds = _load(src)
    frames = {s.frame_index: s for s in ds.samples}
    assert sorted(frames) == list(range(10))
    assert {s.clip for s in ds.samples} == {"cvat-vid-clip1"}
    assert {s.kind for s in ds.samples} == {"video"}
    by_frame = {i: sorted((b.track_id or 0, b.label) for b in s.boxes) for i, s in frames.items()}
    assert by_frame[0] == [(3, "person")]
    assert by_frame[2] == [(3, "person"), (7, "vehicle")]
    assert by_frame[5] == [(7, "vehicle")]  # track 3 went outside at frame 5
    assert [(b.track_id, b.label) for b in frames[8].boxes] == [(None, "person"), (7, "vehicle")]
    person_2 = next(b for b in frames[2].boxes if b.track_id == 3)
    assert (person_2.x1, person_2.x2) == (30.0, 50.0)  # halfway from frame 0 to frame 4
    assert frames[3].metadata.fps == 10.0 and frames[3].timestamp_s == pytest.approx(0.3)
    assert frames[3].metadata.lighting == "night" and frames[3].metadata.person_size == "medium"
    (event,) = ds.events
    assert (event.type, event.start_s, event.end_s, event.zone, event.track_ids) == (
        EventType.FRANCHISSEMENT, 0.2, 0.6, "zone-a", (3,),
    )  # fmt: skip
    assert ds.report.events_per_type == {"franchissement": 1}


def test_cvat_video_export_frames_with_stride(tmp_path: Path) -> None:
    datasets = []
    for k in range(3):
        src = tmp_path / f"src{k}"
        write_video(src / f"clip{k}.mp4", frames=10, fps=10)
        (src / "annotations.xml").write_text(_video_xml(f"clip{k}.mp4"), encoding="utf-8")
        (src / "events.csv").parent.mkdir(exist_ok=True)
        (src / f"clip{k}.events.csv").write_text(
            "type,start_s,end_s,zone\ndensite,0.0,0.5,\n", encoding="utf-8"
        )
        write_source(src, f"cvat-vid{k}")
        datasets.append(_load(src))
    out = tmp_path / "out"
    export_prepared(datasets, out, PrepareParams(frame_stride=3))
    splits = json.loads((out / "splits.json").read_text())
    total = 0
    for split in ("train", "val", "test"):
        coco = json.loads((out / split / "annotations.json").read_text())
        total += len(coco["images"])
        for image in coco["images"]:
            assert image["frame_index"] % 3 == 0 and image["kind"] == "video"
            assert (out / split / image["file_name"]).is_file()
        assert {a["track_id"] for a in coco["annotations"]} <= {3, 7}
    assert total == 3 * 4  # frames 0, 3, 6, 9 of each clip
    clip = splits["clips"]["cvat-vid0-clip0"]
    assert clip["video"].endswith("clip0.mp4") and clip["kind"] == "video"
    events = json.loads(Path(clip["events"]).read_text())
    assert events["events"][0]["type"] == "densite" and events["fps"] == 10.0


def test_cvat_errors_name_file_and_element(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_video(src / "clip1.mp4", frames=10, fps=10)
    extra = """
  <track id="9" label="person">
    <box frame="12" outside="0" xtl="1" ytl="1" xbr="5" ybr="5"/>
    <box frame="1" outside="0" xtl="300" ytl="1" xbr="400" ybr="5"/>
  </track>"""
    (src / "annotations.xml").write_text(_video_xml(extra=extra), encoding="utf-8")
    (src / "clip1.events.json").write_text(
        '[{"type": "bagarre", "start_s": 0, "end_s": 1}, {"type": "feu", "start_s": 0.5, '
        '"end_s": 0.1}, {"type": "feu", "start_s": 0, "end_s": 99}]',
        encoding="utf-8",
    )
    write_source(src)
    with pytest.raises(IngestError) as err:
        _load(src)
    text = str(err.value)
    assert "<track id=9 label='person'> <box frame='12'>: frame 12 is outside clip1.mp4" in text
    assert "<track id=9> <box frame=1>" in text and "outside the 320x240 image" in text
    assert "events[0]: event type 'bagarre' is not one of" in text
    assert "events[1]: needs 0 <= start_s <= end_s" in text
    assert "events[2]: end_s 99 is past the clip's end" in text


def test_cvat_malformed_xml_gives_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "annotations.xml").write_text(
        "<annotations>\n<image id='0' name='a.jpg'>\n</annotations>\n", encoding="utf-8"
    )
    write_source(src)
    with pytest.raises(IngestError) as err:
        _load(src)
    (problem,) = err.value.problems
    assert problem.file.endswith("annotations.xml") and problem.where.startswith("line 3")
    assert "invalid XML" in problem.message
