#!/usr/bin/env bash
# The standard benchmark of the runtime on this machine (issue 3); see benchmarks/README.md.
#
# Writes benchmarks/results/<UTC date>[-TAG].json and the printed tables beside it (.txt).
# Settings can be overridden from the environment, e.g.
#   MODEL=../shared/models/yolox_nano.onnx TAG=yolox STREAMS=1,2,4,8,16 benchmarks/run_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VEILLEUR=${VEILLEUR:-.venv/bin/veilleur}
if [[ -z "${MODEL:-}" ]]; then
    if [[ -f models/detector.onnx ]]; then
        MODEL=models/detector.onnx  # the demo detector (`make demo`)
    elif [[ -f ../shared/models/yolox_nano.onnx ]]; then
        MODEL=../shared/models/yolox_nano.onnx  # public COCO YOLOX-Nano
    else
        echo "no model: run 'make demo' first, or set MODEL=path/to/model.onnx" >&2
        exit 2
    fi
fi
STREAMS=${STREAMS:-1,2,4,8}
VIDEO_SECONDS=${VIDEO_SECONDS:-20}   # seconds of video per stream and try
FPS=${FPS:-6.25}                     # analysis rate (the site default)
BATCH=${BATCH:-0}                    # 0 = every stream in one detector call
REPEATS=${REPEATS:-3}                # interleaved tries; the fastest is reported (median kept)
CLIPS=${CLIPS:-4}                    # synthetic clips (intrusion, line, density, wrong way)
OUT=${OUT:-benchmarks/results/$(date -u +%F)${TAG:+-$TAG}.json}

mkdir -p "$(dirname "$OUT")"
echo "model $MODEL, streams $STREAMS, ${VIDEO_SECONDS}s per stream at $FPS fps -> $OUT" >&2
"$VEILLEUR" bench --model "$MODEL" --synthetic "$CLIPS" --streams "$STREAMS" \
    --seconds "$VIDEO_SECONDS" --analysis-fps "$FPS" --batch "$BATCH" --repeats "$REPEATS" \
    --sweep --out "$OUT" | tee "${OUT%.json}.txt"
