"""calibrate --real: relative checks on a folder of real clips, where no truth is known.

Each clip is copied through the perturbation pipeline unchanged (the reference: re-encoded exactly like the picture
degradations re-encode it) and degraded in known ways; audio degradations are made from the reference and copy its
video stream as it is, so between a reference and its copy only the one known change differs. Every copy is evaluated through the normal
eval path into one store, one run per degradation. Per dimension the report gives:
- conclusive: the share of clips the dimension applies to (the prompt asks for it) whose reference has a score;
- pairs won: the share of (clip, degradation aimed at the dimension) pairs where the reference scores strictly higher
  (normalised 0-100, strict policy: a video fault on the copy scores the worst value). A pair whose reference or copy
  has no score (not conclusive, tool fault) is not won.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .media import file_sha256
from .runner import evaluate
from .scheme import Status, normalize, status_kind
from .score import scored_value
from .store import ResultRow, Store
from .suite import PromptItem, Suite, load_suite
from .synthetic import perturb
from .synthetic.generator import read_truth, write_truth

WIN_TARGET = 0.8
TARGET_DIMENSIONS = ("vis", "aud", "av", "lip", "speech")  # the targets; the others are reported only
REFERENCE = "reference"


@dataclass(frozen=True)
class Degradation:
    name: str
    aimed_at: tuple[str, ...]
    make: Callable[[Path, Path, Path | None], dict[str, Any]]  # (source, out, donor) -> perturbation record
    needs_audio: bool = False
    description: str = ""


DEGRADATIONS: tuple[Degradation, ...] = (
    Degradation("audio_late_400ms", ("av", "lip"), lambda s, o, d: perturb.shift_audio(s, o, 400), True,
                "audio 400 ms later than the picture"),
    Degradation("audio_early_400ms", ("av", "lip"), lambda s, o, d: perturb.shift_audio(s, o, -400), True,
                "audio 400 ms earlier than the picture"),
    Degradation("audio_swapped", ("av", "lip", "speech", "music"), lambda s, o, d: perturb.replace_audio(s, o, d), True,
                "the audio of another clip (of the same category when there is one)"),
    Degradation("noise_0db", ("aud",), lambda s, o, d: perturb.add_noise(s, o, 0.0), True,
                "white noise at 0 dB SNR (not aimed at Speech: it checks the wording, which stays intelligible)"),
    Degradation("second_half_muted", ("speech",), lambda s, o, d: perturb.mute_after(s, o, 0.5), True,
                "the audio silenced from the clip's midpoint on (the lines cut off)"),
    Degradation("lowpass_1khz", ("aud",), lambda s, o, d: perturb.lowpass(s, o, 1000.0), True,
                "audio low-passed at 1 kHz"),
    Degradation("blur", ("vis",), lambda s, o, d: perturb.blur(s, o, 3.0), False, "Gaussian blur, sigma 3 px"),
    Degradation("low_bitrate", ("vis",), lambda s, o, d: perturb.recompress(s, o, 60_000), False,
                "video re-encoded at 60 kb/s"),
)


def _reference_copy(src: Path, out: Path, donor: Path | None) -> dict[str, Any]:
    """The clip re-encoded the way the picture degradations re-encode it (H.264 CRF 18, mono AAC)."""
    media = perturb.load(src)
    return perturb.save(media, out, {"name": REFERENCE}, frames=media.frames())


@dataclass
class Pair:
    clip: str
    dimension: str
    degradation: str
    reference: float | None
    degraded: float | None
    reference_status: str
    degraded_status: str

    @property
    def won(self) -> bool:
        return self.reference is not None and self.degraded is not None and self.reference > self.degraded

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"won": self.won}


@dataclass
class RealCalibration:
    videos_dir: str
    work_dir: str
    clips: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # clip or degradation -> why
    pairs: list[Pair] = field(default_factory=list)
    reference_rows: dict[tuple[str, str], ResultRow] = field(default_factory=dict)

    def dimension_report(self, dim_id: str) -> dict[str, Any]:
        rows = [r for (clip, d), r in self.reference_rows.items() if d == dim_id]
        applies = [r for r in rows if r.status != Status.NOT_APPLICABLE]
        conclusive = [r for r in applies if r.status == Status.OK]
        pairs = [p for p in self.pairs if p.dimension == dim_id and p.reference_status != Status.NOT_APPLICABLE]
        won = sum(p.won for p in pairs)
        share = won / len(pairs) if pairs else None
        conclusive_share = len(conclusive) / len(applies) if applies else None
        targeted = dim_id in TARGET_DIMENSIONS
        met = None if not targeted or share is None else bool(share >= WIN_TARGET and (conclusive_share or 0) > 0.5)
        statuses: dict[str, int] = {}
        for r in applies:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        return {"dimension": dim_id, "clips_applicable": len(applies), "conclusive": len(conclusive),
                "conclusive_share": conclusive_share, "reference_statuses": statuses, "pairs": len(pairs), "won": won,
                "win_share": share, "target": WIN_TARGET if targeted else None, "met": met,
                "by_degradation": _by_degradation(pairs)}

    def as_dict(self, with_pairs: bool = True) -> dict[str, Any]:
        dims = sorted({p.dimension for p in self.pairs} | {d for _, d in self.reference_rows})
        reports = {d: self.dimension_report(d) for d in dims}
        missed = [d for d, r in reports.items() if r["met"] is False]
        result = {"videos_dir": self.videos_dir, "work_dir": self.work_dir, "clips": len(self.clips),
                  "degradations": {g.name: {"aimed_at": list(g.aimed_at), "description": g.description}
                                   for g in DEGRADATIONS},
                  "skipped": self.skipped, "dimensions": reports, "missed": missed, "targets_met": not missed}
        if with_pairs:
            result["pairs"] = [p.as_dict() for p in self.pairs]
        return result


def _by_degradation(pairs: list[Pair]) -> dict[str, str]:
    out: dict[str, list[int]] = {}
    for p in pairs:
        won_total = out.setdefault(p.degradation, [0, 0])
        won_total[0] += p.won
        won_total[1] += 1
    return {name: f"{w}/{n}" for name, (w, n) in out.items()}


def _donors(items: list[PromptItem]) -> dict[str, PromptItem]:
    """Each clip's audio donor: the next clip of its category (the hardest swap: same kind of sound), else the next
    clip overall. Deterministic, never the clip itself."""
    donors = {}
    for i, item in enumerate(items):
        same = [o for o in items if o.category == item.category and o.key != item.key]
        pool = same or [o for o in items if o.key != item.key]
        if pool:
            later = [o for o in pool if items.index(o) > i]
            donors[item.key] = (later or pool)[0]
    return donors


def _make_copies(items: list[PromptItem], videos_dir: Path, work: Path, runs: list[str], result: RealCalibration,
                 on_step: Callable[[str], None] | None) -> None:
    """Write the copies each run needs under work/<run>/<category>/<file> (kept and reused while the source and the
    transforms are unchanged)."""
    donors = _donors(items)
    makers = {REFERENCE: (_reference_copy, False)} | {g.name: (g.make, g.needs_audio) for g in DEGRADATIONS}
    for item in items:
        src = item.find_video(videos_dir)
        assert src is not None  # items were filtered on it
        has_audio = _has_audio(src)
        source_sha = file_sha256(src)
        for run in runs:
            make, needs_audio = makers[run]
            out = work / run / item.category / f"{item.stem}.mp4"
            stamp = {"source_sha256": source_sha, "perturb_version": perturb.PERTURB_VERSION}
            if out.is_file() and stamp.items() <= (read_truth(out) or {}).items():
                continue  # made earlier from the same source by the same transforms
            if needs_audio and not has_audio:
                result.skipped[f"{item.key}:{run}"] = "the clip has no audio track"
                continue
            donor = donors.get(item.key)
            donor_path = donor.find_video(videos_dir) if donor else None
            if on_step:
                on_step(f"{run}: {item.key}")
            out.parent.mkdir(parents=True, exist_ok=True)
            reference = work / REFERENCE / item.category / f"{item.stem}.mp4"
            make(reference if needs_audio else src, out, donor_path)
            write_truth(out, (read_truth(out) or {}) | stamp)


def _has_audio(path: Path) -> bool:
    """Whether the clip has an audio track (read from the container, nothing decoded)."""
    import av

    with av.open(str(path)) as container:
        return bool(container.streams.audio)


def calibrate_real(suite: Suite, videos_dir: Path | str, work_dir: Path | str, dims: list[str] | None = None,
                   workers: int = 1, on_step: Callable[[str], None] | None = None) -> RealCalibration:
    """Degrade every clip of `videos_dir` that has a prompt in `suite`, evaluate all copies, pair them up."""
    videos_dir, work = Path(videos_dir), Path(work_dir)
    items = [i for i in suite.items if i.find_video(videos_dir)]
    result = RealCalibration(str(videos_dir), str(work), [i.key for i in items])
    if not items:
        return result
    aimed = sorted({d for g in DEGRADATIONS for d in g.aimed_at})
    dims = [d for d in (dims or aimed) if d in aimed]
    plan = {REFERENCE: dims} | {g.name: [d for d in g.aimed_at if d in dims] for g in DEGRADATIONS}
    plan = {run: run_dims for run, run_dims in plan.items() if run_dims}
    _make_copies(items, videos_dir, work, list(plan), result, on_step)
    rows: dict[str, dict[tuple[str, str], ResultRow]] = {}
    for run, run_dims in plan.items():
        if on_step:
            on_step(f"evaluating {run} ({', '.join(run_dims)})")
        evaluate(suite, work / run, work / "store", run, "lite", run_dims, workers=workers)
        with Store.open_existing(work / "store") as store:
            rows[run] = {(r.video_key, r.dimension): r for r in store.results(run)}
    result.reference_rows = rows.get(REFERENCE, {})
    for g in DEGRADATIONS:
        for (clip, dim_id), ref in sorted(result.reference_rows.items()):
            if dim_id not in g.aimed_at or f"{clip}:{g.name}" in result.skipped:
                continue
            copy = rows.get(g.name, {}).get((clip, dim_id))
            if copy is None:
                continue
            result.pairs.append(Pair(clip, dim_id, g.name, _score(ref), _score(copy), ref.status, copy.status))
    return result


def _score(row: ResultRow) -> float | None:
    """A row's 0-100 score under the strict policy; None when it has none (not conclusive, not applicable, tool fault)."""
    raw = scored_value(row, "strict")
    if raw is None or status_kind(row.status) == "tool_fault":
        return None
    return normalize(row.dimension, raw)


def suite_and_videos(folder: Path, suite_dir: Path | None) -> tuple[Suite, Path]:
    """A folder laid out as `suite/` + `videos/` (like ../shared/realclips-dev), or a videos folder with --suite."""
    folder = Path(folder)
    if suite_dir is None and (folder / "suite" / "prompts").is_dir() and (folder / "videos").is_dir():
        return load_suite(folder / "suite"), folder / "videos"
    if suite_dir is None:
        raise ValueError(f"{folder} has no suite/ and videos/ folders: pass the videos folder with --suite SUITE_DIR")
    return load_suite(suite_dir), folder
