"""Session options of the product detector: intra-op threads and spinning, from the site file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from veilleur.runtime.config import ConfigError, parse_site_config
from veilleur.runtime.detect import onnx
from veilleur.runtime.detect.onnx import OnnxDetector, auto_intra_op_threads, session_options


def spin_entry(opts: Any) -> str:
    return str(opts.get_session_config_entry("session.intra_op.allow_spinning"))


def test_default_uses_the_usable_cores_and_does_not_spin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for cores, threads in ((1, 1), (2, 2), (8, 8)):
        monkeypatch.setattr(onnx, "usable_cpus", lambda cores=cores: cores)
        assert auto_intra_op_threads() == threads
        opts = session_options()
        assert opts.intra_op_num_threads == threads
        assert spin_entry(opts) == "0"


def test_explicit_threads_spinning_and_onnxruntime_default() -> None:
    opts = session_options(3, spinning=True)
    assert opts.intra_op_num_threads == 3 and spin_entry(opts) == "1"
    assert session_options(-1).intra_op_num_threads == 0  # onnxruntime decides


def test_detector_records_its_session_settings(shared_dir: Path) -> None:
    model = shared_dir / "models" / "yolox_nano.onnx"
    det = OnnxDetector(model, intra_op_threads=2, spinning=True)
    assert det.session_settings == {"intra_op_threads": 2, "spinning": True}
    det = OnnxDetector(model)
    assert det.session_settings == {"intra_op_threads": auto_intra_op_threads(), "spinning": False}


def site(**model: Any) -> Any:
    return parse_site_config(
        {
            "version": 1,
            "site": {"name": "t"},
            "model": {"path": "m.onnx", **model},
            "cameras": [{"id": "c", "source": {"url": "c.mp4"}}],
        }
    )


def test_site_model_section_takes_threads_and_spinning() -> None:
    m = site().model
    assert m is not None and (m.intra_op_threads, m.spinning) == (0, False)
    m = site(intra_op_threads=4, spinning=True).model
    assert m is not None and (m.intra_op_threads, m.spinning) == (4, True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("intra_op_threads", -2, r"model\.intra_op_threads: Input should be greater than or equal"),
        ("spinning", "often", r"model\.spinning: Input should be a valid boolean"),
        ("intra_op_thread", 2, r"model\.intra_op_thread: unknown field"),
    ],
)
def test_bad_session_settings_are_refused_with_the_field_named(
    field: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        site(**{field: value})
