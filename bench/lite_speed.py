"""Lite-tier speed and memory, measured in one run.

Generates N synthetic clips (10 s, 1280x720, 24 fps, with audio), times a plain PyAV decode of every video and audio
frame of those clips, then times `eval --tier lite` on all eight lite dimensions, and prints
  ratio = lite eval wall time / full decode wall time      (target <= 5)
  peak RSS per worker process and of the parent            (target <= 2 GiB per worker)

Every clip has a textured backdrop with moving shapes, a face whose mouth follows TTS speech (espeak-ng; babble
without it), on-screen text, four A4 notes on a lit keyboard and a bouncing ball with impact knocks; the prompts ask
for that text, speech, one face and those notes, so every dimension measures (the statuses printed should all be ok).
The clips are then re-encoded with fresh film grain on every frame at crf 20, so that their bit rate (printed; ~2.5
Mbit/s) and decode cost are closer to real footage than those of the generator's clean
clips (~0.3 Mbit/s, ~3x cheaper to decode, which would make the ratio look worse than it is; --clean keeps them).
The decode baseline runs in this process, one clip after another, with PyAV's default threading (~1.6 of the 2
cores: ~0.38 s wall, ~0.6 CPU s per clip); the eval uses the worker pool. Peak RSS per worker
is what each worker reports for itself (ru_maxrss) with its results. The machine's load is printed too: on a shared
machine the figures move with it.

Where the time goes (one 10 s clip, CPU seconds, one worker with its models loaded, 2-core dev machine, Nov 2026):
the shared decode with every frame stream 0.84 (PyAV's own decoding 0.57 on one thread); Text OCR 1.15 (int8 PP-OCR
detection on 10 frames 0.43, recognition 0.7); face tracking for Face and Lip 0.72 (HOG detection on grey every 10th
frame 0.41, landmarks on every frame 0.22, embeddings on onnxruntime 0.07; the tracks are shared, and the
per-dimension seconds printed charge them to AV, the first of the three to run); Aud 0.3, Music 0.2, Vis 0.1, AV and
Speech 0.05: about 3.45 s. Two workers side by side run as fast as one alone, so at steady state the pool finishes a
clip every ~1.7 s against a default PyAV decode of ~0.38 s (which itself uses both cores): ~4.5-4.6. Each run also
pays ~3-6 s once (each worker's imports and model loading ~2.3 s, the last clips' wait, the pool's shutdown), which is
why the ratio falls as a run gets longer: ~6.5 for 4 clips, ~5.8 for 8, ~4.95 for 24 (the default), 4.54 for 235. The
script prints the steady-state pace too, and the ratio a full 235-clip run would have at that pace.

usage: python bench/lite_speed.py [--clips 24] [--workers 2] [--out DIR] [--clean]   (an existing DIR reuses its clips)
       python bench/lite_speed.py --real ../shared/realclips-dev [--workers 2]   (real clips; target <= 3)
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

LITE_DIMENSIONS = ["vis", "aud", "av", "lip", "text", "face", "music", "speech"]


PROMPT = ("A news presenter faces the camera and says \"{line}\" while on-screen text reads '{text}'. Behind her a "
          "piano plays the note A4 four times and a ball bounces on the floor with a knock at each landing.")
LINES = ["The bench starts now.", "Here is the evening news.", "Thank you for watching us.", "We measure every frame."]


def clip_spec(i: int) -> dict:
    """A realistic lite workload: textured moving backdrop, a speaking face in sync with TTS speech (babble when no
    TTS is installed), on-screen text, four A4 notes with a lit keyboard and four floor impacts."""
    line = LINES[i % len(LINES)]
    return {
        "duration": 10.0, "width": 1280, "height": 720, "fps": 24, "background": "texture", "seed": i,
        "moving_shapes": 4,
        "impacts": [{"time": 1.0 + 2.0 * k + 0.1 * i, "lane": 0} for k in range(4)],
        "notes": [{"midi": 69, "start": 0.5 + 2.2 * k, "duration": 0.8} for k in range(4)],
        "texts": [{"text": f"BENCH {i}", "size": 56, "y": 40}],
        "faces": [{"identity": f"#{i % 2}", "cx": 0.25, "cy": 0.45, "height": 0.45}],
        "speech": [_speech(line, 1.0, i), _speech(line, 5.5, i + 100)],
    }


def _speech(line: str, start: float, seed: int) -> dict:
    """The line through TTS; without espeak-ng the generator speaks 2.5 s of babble instead (noted in the clip's truth)."""
    return {"text": line, "start": start, "duration": 2.5, "seed": seed, "babble_without_tts": True}


def write_suite(root: Path, n: int) -> Path:
    """A one-category suite (ROOT/suite) whose rule-based annotations ask for text, speech, one face and music."""
    suite_dir = root / "suite"
    (suite_dir / "prompts").mkdir(parents=True, exist_ok=True)
    (suite_dir / "expected_faces").mkdir(exist_ok=True)
    items, faces = [], []
    for i in range(n):
        content = f"Bench clip {i}"
        prompt = PROMPT.format(line=LINES[i % len(LINES)], text=f"BENCH {i}")
        items.append({"content": content, "prompt": prompt, "synthetic": clip_spec(i)})
        faces.append({"content": content, "prompt": prompt, "primary_faces": {"min_ids": 1, "max_ids": 1}})
    (suite_dir / "prompts" / "news.json").write_text(json.dumps(items))
    (suite_dir / "expected_faces" / "news.expected_faces.json").write_text(json.dumps(faces))
    return suite_dir


def make_suite_and_clips(root: Path, n: int) -> tuple[Path, Path]:
    """The suite and its clips (ROOT/videos); clips already there are kept, so a second run with --out reuses them."""
    from avgenbench.suite import load_suite
    from avgenbench.synthetic.provider import generate_for_suite

    suite_dir = write_suite(root, n)
    videos = root / "videos"
    generate_for_suite(load_suite(suite_dir), videos)
    return suite_dir, videos


GRAIN_SIGMA = 3.0  # film grain, grey levels (0-255), new every frame: what real 720p outputs carry
GRAIN_CRF = 20  # with that grain: ~2.5 Mbit/s, ~0.6 CPU s to decode 10 s of 720p


def add_grain(path: Path, sigma: float = GRAIN_SIGMA, crf: int = GRAIN_CRF, seed: int = 0) -> None:
    """Re-encode `path` in place with fresh film grain on every frame (same audio).

    The generator's backdrop is static and clean, so x264 codes it at ~0.3 Mbit/s and it decodes ~3x faster than a real
    T2AV output (H.264 720p at several Mbit/s: grain, texture and camera motion leave nothing static). Grain makes the
    decode baseline representative; it is also what every dimension sees in real clips."""
    import av
    import numpy as np

    from avgenbench.synthetic.encode import write_clip

    rng = np.random.default_rng(seed)
    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        fps = float(vstream.average_rate)
        h, w = vstream.codec_context.height, vstream.codec_context.width
        astream = container.streams.audio[0]
        rate = astream.codec_context.sample_rate
        audio = np.concatenate([f.to_ndarray().reshape(len(f.layout.channels), -1).mean(axis=0)
                                for f in container.decode(astream)]).astype(np.float32)
    # a few grain fields, each frame takes one at a random offset (fresh-looking grain at a fraction of the cost)
    fields = [(rng.standard_normal((h + 64, w + 64)) * sigma).astype(np.float32) for _ in range(6)]

    def grainy():  # streamed: the bench's own memory stays small
        with av.open(str(path)) as source:
            for frame in source.decode(source.streams.video[0]):
                field = fields[rng.integers(len(fields))]
                dy, dx = rng.integers(64, size=2)
                noisy = frame.to_ndarray(format="rgb24").astype(np.float32) + field[dy:dy + h, dx:dx + w, None]
                yield np.clip(noisy, 0, 255).astype(np.uint8)

    tmp = path.with_suffix(".grain.mp4")
    write_clip(tmp, grainy(), fps, audio, rate, crf=crf)
    tmp.replace(path)


def make_grainy(paths: list[Path]) -> None:
    """Add grain once per clip (a marker file beside each clip lets --out reuse them)."""
    for i, path in enumerate(paths):
        marker = path.with_suffix(".grain")
        if not marker.exists():
            add_grain(path, seed=i)
            marker.write_text(f"sigma {GRAIN_SIGMA} crf {GRAIN_CRF}\n")


def clip_bitrates(paths: list[Path]) -> list[float]:
    """Video bit rate of each clip, Mbit/s (from the stream's size and duration)."""
    import av

    rates = []
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            size = sum(p.size for p in container.demux(stream))
            seconds = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        rates.append(8 * size / max(seconds, 1e-6) / 1e6)
    return rates


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


SUITE_SIZE = 235  # prompts in the official suite: one model's full run


def _phase(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (the pool's workers, once it shut down)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--clean", action="store_true", help="keep the generator's clean clips (no grain; unrealistically cheap to decode)")
    parser.add_argument("--real", type=Path, default=None,
                        help="time real clips instead: a folder with suite/ and videos/ (e.g. ../shared/realclips-dev); target <= 3")
    args = parser.parse_args()

    from avgenbench.runner import evaluate
    from avgenbench.suite import load_suite

    root = args.out or Path(tempfile.mkdtemp(prefix="avgen-bench-"))
    if args.real:
        suite_dir, videos, target = args.real / "suite", args.real / "videos", 3
        paths = sorted(videos.rglob("*.mp4"))
    else:
        _phase(f"generating {args.clips} clips under {root} (clips already there are reused)")
        suite_dir, videos = make_suite_and_clips(root, args.clips)
        paths, target = sorted(videos.rglob("*.mp4")), 5
        if not args.clean:
            make_grainy(paths)
    rates = clip_bitrates(paths)
    _phase("timing: plain decode, then the lite eval (keep the machine otherwise idle)")
    cpu0 = time.process_time()
    decode_s = full_decode(paths)
    decode_cpu = time.process_time() - cpu0
    out_dir = root / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # e.g. espeak-ng while generating
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    summary = evaluate(load_suite(suite_dir), videos, out_dir, "bench", "lite", LITE_DIMENSIONS, workers=args.workers)
    eval_s = time.perf_counter() - start
    eval_cpu = _cpu_seconds() - cpu_before
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    statuses: dict[str, int] = {}
    dim_seconds: dict[str, float] = {}
    from avgenbench.store import Store

    with Store(out_dir) as store:
        media = store.media("bench")
        unit_seconds = {key: m["seconds"] or 0.0 for key, m in media.items()}  # one clip's decode and dimensions
        for row in store.results("bench"):
            statuses[f"{row.dimension}:{row.status}"] = statuses.get(f"{row.dimension}:{row.status}", 0) + 1
            dim_seconds[row.dimension] = dim_seconds.get(row.dimension, 0.0) + (row.seconds or 0.0)
            unit_seconds[row.video_key] = unit_seconds.get(row.video_key, 0.0) + (row.seconds or 0.0)
    media_seconds = sum(m["seconds"] or 0.0 for m in media.values())
    worker_rss = max((m["info"].get("peak_rss_mib") or 0.0 for m in media.values()), default=0.0)
    import os

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) after the run: {load}")
    kind = f"real clips from {args.real}" if args.real else "x 10 s 1280x720 24 fps with audio"
    grain = "real" if args.real else ("clean" if args.clean else f"grain sigma {GRAIN_SIGMA:g}, crf {GRAIN_CRF}")
    print(f"clips: {len(paths)} {kind}; workers: {args.workers}")
    print(f"video bit rate: {min(rates):.2f}-{max(rates):.2f} Mbit/s ({grain}); "
          f"decode {decode_s / len(paths):.2f} s per clip (PyAV's default threading)")
    print(f"full PyAV decode: {decode_s:.2f} s   lite eval (8 dimensions): {eval_s:.2f} s")
    print(f"ratio eval/decode: {eval_s / decode_s:.2f}   (target <= {target})")
    busy = sorted(unit_seconds.values())
    if len(busy) > 2 * args.workers:  # the median is then a clip that found its worker's models loaded
        per_clip, steady = decode_s / len(paths), statistics.median(busy) / args.workers
        fixed = eval_s - steady * len(paths)
        suite_ratio = (fixed + SUITE_SIZE * steady) / (SUITE_SIZE * per_clip)
        print(f"steady state: a clip keeps a worker busy {steady * args.workers:.2f} s (median over clips), so {args.workers} "
              f"workers finish one every {steady:.2f} s = {steady / per_clip:.2f} x its decode. The other {fixed:.1f} s of "
              f"the eval (worker start-up, model loading, the last clips' wait) are paid once per run: a {SUITE_SIZE}-clip "
              f"run would have ratio ~{suite_ratio:.2f}")
    print(f"CPU seconds (less sensitive to other load on the machine): decode {decode_cpu:.2f}, "
          f"eval {eval_cpu:.2f} (parent and workers), ratio {eval_cpu / max(decode_cpu, 1e-9):.1f}")
    where = "largest worker" if args.workers > 1 else "eval process"
    print(f"peak RSS: parent {own:.0f} MiB; {where} {worker_rss:.0f} MiB as it reported itself "
          f"(RUSAGE_CHILDREN {children:.0f} MiB, {children_before:.0f} MiB before eval)   (target <= 2048 MiB per worker)")
    print(f"summed over units: media decode {media_seconds:.1f} s; per dimension "
          + ", ".join(f"{d} {dim_seconds.get(d, 0.0):.1f} s" for d in LITE_DIMENSIONS))
    print(f"units run: {summary.units_run}; statuses: {json.dumps(statuses, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
