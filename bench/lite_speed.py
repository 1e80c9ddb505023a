"""Lite-tier speed and memory, measured in one run.

Generates N synthetic clips (10 s, 1280x720, 24 fps, with audio), times a plain PyAV decode of every frame and audio
packet of those clips, then times `eval --tier lite` on all eight lite dimensions, and prints
  ratio = lite eval wall time / full decode wall time      (target <= 5)
  peak RSS per worker process and of the parent            (target <= 2 GiB per worker)

usage: python bench/lite_speed.py [--clips 4] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

LITE_DIMENSIONS = ["vis", "aud", "av", "lip", "text", "face", "music", "speech"]


def make_suite_and_clips(root: Path, n: int) -> tuple[Path, Path]:
    from avgenbench.synthetic.provider import generate_for_suite
    from avgenbench.suite import load_suite

    suite_dir = root / "suite"
    (suite_dir / "prompts").mkdir(parents=True)
    items = []
    for i in range(n):
        items.append({
            "content": f"Bench clip {i}",
            "prompt": f"A ball bounces on a table with a knock at each landing while the note A4 rings; on-screen text reads 'BENCH {i}'.",
            "synthetic": {"duration": 10.0, "width": 1280, "height": 720, "fps": 24,
                          "impacts": [1.0 + 2.0 * k + 0.1 * i for k in range(4)],
                          "notes": [{"midi": 69, "start": 0.5 + 2.0 * k, "duration": 0.8} for k in range(4)]},
        })
    (suite_dir / "prompts" / "physical_experiment.json").write_text(json.dumps(items))
    videos = root / "videos"
    generate_for_suite(load_suite(suite_dir), videos)
    return suite_dir, videos


def full_decode(paths: list[Path]) -> float:
    import av

    start = time.perf_counter()
    for path in paths:
        with av.open(str(path)) as container:
            streams = [s for s in (container.streams.video[:1] + container.streams.audio[:1])]
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    frame.to_ndarray()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from avgenbench.runner import evaluate
    from avgenbench.suite import load_suite

    root = args.out or Path(tempfile.mkdtemp(prefix="avgen-bench-"))
    suite_dir, videos = make_suite_and_clips(root, args.clips)
    paths = sorted(videos.rglob("*.mp4"))
    decode_s = full_decode(paths)
    out_dir = root / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    start = time.perf_counter()
    summary = evaluate(load_suite(suite_dir), videos, out_dir, "bench", "lite", LITE_DIMENSIONS, workers=args.workers)
    eval_s = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    statuses: dict[str, int] = {}
    from avgenbench.store import Store

    with Store(out_dir) as store:
        for row in store.results("bench"):
            statuses[f"{row.dimension}:{row.status}"] = statuses.get(f"{row.dimension}:{row.status}", 0) + 1
    print(f"clips: {len(paths)} x 10 s 1280x720 24 fps with audio; workers: {args.workers}")
    print(f"full PyAV decode: {decode_s:.2f} s   lite eval (8 dimensions): {eval_s:.2f} s")
    print(f"ratio eval/decode: {eval_s / decode_s:.2f}   (target <= 5)")
    print(f"peak RSS: parent {own:.0f} MiB, largest worker {children:.0f} MiB   (target <= 2048 MiB per worker)")
    print(f"units run: {summary.units_run}; statuses: {json.dumps(statuses, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
