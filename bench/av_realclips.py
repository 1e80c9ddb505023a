"""AV lite on real clips: does the clean clip beat the same clip with its audio shifted or swapped?

For every clip under REALCLIPS/videos (default ../shared/realclips-dev), the clip is decoded once (the frames and audio
AV reads, and its face tracks); then the AV estimate runs on the clean audio and on three degraded audios over the
same frames: the audio 400 ms late, 400 ms early (silence fills, the overhang is cut, as perturb.shift_audio) and the
next clip's audio (sorted order, looped or cut to length, as perturb.replace_audio). The degradations are applied to
the decoded audio, not re-encoded, so the picture is bit-identical on both sides and only the sound differs.

A (clip, degradation) pair is won when both sides are conclusive (status ok) and the clean clip scores strictly
higher (its E|offset| is strictly lower). Printed: per clip the clean reading and the three degraded ones, the pair-win
share, the conclusive rates (clean, degraded), the AV seconds per clip (the estimate on the clean audio, face
tracking excluded, which Face and Lip share; the tracking seconds are printed beside it) and the seconds of a plain
PyAV decode of the same clip (every video and audio frame), the yardstick of the lite tier's cost.

usage: python bench/av_realclips.py [--dir REALCLIPS] [--shift-ms 400] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from avgenbench.dimensions import av
from avgenbench.dimensions.base import Status
from avgenbench.media import decode

DEFAULT_DIR = Path(os.environ.get("AVGENBENCH_REALCLIPS", Path(__file__).resolve().parents[2] / "shared" / "realclips-dev"))


def shifted(audio: np.ndarray, ms: float, rate: int = av.AUDIO_RATE) -> np.ndarray:
    """The audio `ms` later (positive) or earlier; length kept."""
    k = int(round(ms / 1000 * rate))
    out = np.zeros_like(audio)
    if k >= 0:
        out[k:] = audio[: len(audio) - k]
    else:
        out[: len(audio) + k] = audio[-k:]
    return out


def plain_decode_s(path: Path) -> float:
    """Seconds to decode every video and audio frame with PyAV's default threading (the lite tier's cost yardstick)."""
    import av as pyav

    t0 = time.perf_counter()
    with pyav.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for _ in container.decode(*container.streams):
            pass
    return time.perf_counter() - t0


def load_inputs(path: Path) -> dict:
    """What AV reads of one clip: grey frames and their times, the face frames, 16 kHz audio, face tracks (tracking
    timed)."""
    from avgenbench.perception.faces import missing_reason, tracks_for_frames

    clip = decode(path, av.DIMENSION.needs)
    frames, faces = clip.frames_for(av.MOTION_FRAMES), clip.frames_for(av.FACE_FRAMES)
    t0 = time.perf_counter()
    tracks = []
    if missing_reason() is None:
        tracks = list(tracks_for_frames(faces, key=clip.sha256, color=clip.frames_for(av.FACE_COLOR_FRAMES)))
    return {"images": frames.images, "times": frames.times, "face_images": faces.images, "face_times": faces.times,
            "audio": clip.audio_at(av.AUDIO_RATE), "tracks": tracks, "tracking_s": time.perf_counter() - t0}


def cached_inputs(path: Path, cache: Path | None) -> dict:
    """load_inputs, kept as a pickle in `cache` (when given) for re-runs."""
    import hashlib
    import pickle

    if cache is None:
        return load_inputs(path)
    key = hashlib.sha1(f"{path.resolve()}|{path.stat().st_mtime}|{av.DIMENSION.needs}".encode()).hexdigest()[:16]
    file = cache / f"{key}.pkl"
    if file.is_file():
        return pickle.loads(file.read_bytes())
    x = load_inputs(path)
    cache.mkdir(parents=True, exist_ok=True)
    file.write_bytes(pickle.dumps(x))
    return x


def estimate(inputs: dict, audio: np.ndarray) -> dict:
    return av.estimate_offset(audio, inputs["images"], inputs["times"], av.mouth_event_envelopes(inputs["tracks"]))


def _short(r: dict) -> str:
    if r["status"] != Status.OK:
        return f"{r['status']:>12}"
    return f"{1000 * r['expected_abs_offset_s']:5.0f}ms@{1000 * r['map_offset_s']:+5.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--shift-ms", type=float, default=400.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cache", type=Path, help="keep each clip's decoded inputs here (pickles) for re-runs")
    args = parser.parse_args()
    paths = sorted((args.dir / "videos").glob("*/*.mp4"))
    if not paths:
        raise SystemExit(f"no clips under {args.dir / 'videos'}")
    inputs = {}
    for p in paths:
        inputs[p] = cached_inputs(p, args.cache)
    rows, won, pairs, clean_ok, degraded_ok, degraded_n = [], 0, 0, 0, 0, 0
    for i, p in enumerate(paths):
        x = inputs[p]
        donor = inputs[paths[(i + 1) % len(paths)]]["audio"]
        t0 = time.perf_counter()
        clean = estimate(x, x["audio"])
        cost = time.perf_counter() - t0
        decode_s = plain_decode_s(p)
        variants = {
            f"+{args.shift_ms:g}ms": shifted(x["audio"], args.shift_ms),
            f"-{args.shift_ms:g}ms": shifted(x["audio"], -args.shift_ms),
            "swap": np.resize(donor, len(x["audio"])).astype(np.float32),
        }
        degraded = {name: estimate(x, audio) for name, audio in variants.items()}
        clean_ok += clean["status"] == Status.OK
        for r in degraded.values():
            pairs += 1
            degraded_n += 1
            degraded_ok += r["status"] == Status.OK
            if clean["status"] == Status.OK and r["status"] == Status.OK and \
                    clean["expected_abs_offset_s"] < r["expected_abs_offset_s"]:
                won += 1
        wins = sum(clean["status"] == r["status"] == Status.OK and
                   clean["expected_abs_offset_s"] < r["expected_abs_offset_s"] for r in degraded.values())
        name = f"{p.parent.name}/{p.stem}"
        print(f"{name[:44]:44} clean {_short(clean)} | " + " ".join(f"{k} {_short(r)}" for k, r in degraded.items())
              + f" | won {wins}/3  av {cost:.2f}s decode {decode_s:.2f}s track {x['tracking_s']:.2f}s"
              + (f"  p={clean.get('p_value')}" if 'p_value' in clean else ""))
        rows.append({"clip": name, "clean": clean, "degraded": degraded, "wins": wins, "av_s": cost, "decode_s": decode_s,
                     "tracking_s": x["tracking_s"]})
    n = len(paths)
    summary = {"clips": n, "pairs": pairs, "won": won, "pair_win_share": round(won / pairs, 3),
               "clean_conclusive": round(clean_ok / n, 3), "degraded_conclusive": round(degraded_ok / degraded_n, 3),
               "av_s_median": round(float(np.median([r["av_s"] for r in rows])), 3),
               "plain_decode_s_median": round(float(np.median([r["decode_s"] for r in rows])), 3)}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, default=str, indent=1))


if __name__ == "__main__":
    main()
