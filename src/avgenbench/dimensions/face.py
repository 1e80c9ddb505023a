"""Face: primary identity count and stability (0–100, higher is better).

Lite backend (CenterFace detection, dlib landmarks and embeddings, see perception/faces.py): faces are detected and
tracked over grey frames sampled at 25 fps
(shared with Lip, so each clip is tracked once per process); each track carries a 128-d dlib embedding of the same
frame in colour (a 2.5 fps stream, every 10th frame) from its first detection on that 0.4 s grid, then every 1.2 s. Tracks are clustered into identities (average linkage of track-to-track median embedding
distance, cut at SAME_IDENTITY; tracks on screen together are never the same person). An identity is *primary* when
its tracks cover at least PRIMARY_SHARE of the sampled frames. A face must be confirmed by three detections
(about 0.8 s on screen) to form a track.

    Face = 40 · count_term + 60 · stability
    count_term = 1 inside [min_ids, max_ids], else max(0, 1 − gap / max(2, nearest bound))   (linear decay)
    stability  = track-length-weighted mean over tracks of the mean pair agreement of the track's embeddings,
                 agreement(d) = 1 for d ≤ STABLE_DISTANCE, 0 for d ≥ CHANGED_DISTANCE, linear between.

Thresholds for dlib embeddings (Euclidean): dlib's own same-person threshold is 0.6. On our synthetic probes (six real
identities × mirror/tint/dimming variants × mouth poses × sizes) same-identity pairs reach at most 0.47 and different
identities are at least 0.65 apart (5th percentile 0.70). Hence SAME_IDENTITY = 0.6, and the stability ramp runs from
0.5 (clearly the same person) to 0.65 (clearly someone else). Real footage with pose and lighting change spreads
same-person distances wider; the ramp keeps small drifts from costing much.

Expected counts: the suite's expected_faces file, else the wording's (annotations.faces_from_wording); the evidence's
expected_faces_source says which. Statuses: prompts with no faces annotation or max_ids == 0 -> not_applicable; faces
required (min_ids >= 1) but no face track (a face confirmed by at least three detections) -> no_face when the detector
saw nothing face-like in most detection frames, else inconclusive (not scored). When the range allows none (min_ids == 0) a faceless
clip scores 100: the count is in range and there is no track to be unstable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import model_envs
from ..annotations import PromptAnnotation
from ..annotations.judged import prompt_requirements
from ..judge.templates import load
from ..media import Clip, MediaNeeds
from ..paper_workers.identities import INSIGHTFACE, INSIGHTFACE_FRAMES
from ..paper_workers.insightface import DET_SCORE, PACK, REC_HINTS, detect_and_embed, load_pack, pack_files
from ..suite import PromptItem
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .frames import FACE_COLOR_FRAMES as COLOR_FRAMES, FACE_FRAMES as FRAMES  # shared with Lip and AV
from .in_env import ModelEnvBackend
from .judged import JudgedBackend

SAME_IDENTITY = 0.6
STABLE_DISTANCE = 0.5
CHANGED_DISTANCE = 0.65
PRIMARY_SHARE = 0.15
APART = 2.0  # distance given to tracks on screen together (dlib embeddings are unit-length, so at most 2 apart)
MAX_TRACKS_IN_EVIDENCE = 12


def agreement(distance: np.ndarray | float) -> np.ndarray:
    return np.clip((CHANGED_DISTANCE - np.asarray(distance)) / (CHANGED_DISTANCE - STABLE_DISTANCE), 0.0, 1.0)


def track_stability(embeddings: np.ndarray) -> float:
    """Mean agreement over all pairs of a track's embeddings (1.0: one person throughout)."""
    if len(embeddings) < 2:
        return 1.0
    d = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=2)
    return float(agreement(d[np.triu_indices(len(embeddings), 1)]).mean())


def cluster_tracks(embedding_sets: list[np.ndarray], frame_sets: list[list[int]] | None = None) -> list[int]:
    """Identity label per track: average-linkage clustering of track-to-track median embedding distance.

    Tracks on screen at the same time are different people (look-alikes included): their distance is set to
    APART, which keeps them in different identities.
    """
    n = len(embedding_sets)
    if n <= 1:
        return [0] * n
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    spans = [(min(f), max(f)) for f in frame_sets] if frame_sets else None
    dist = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if spans and spans[i][0] <= spans[j][1] and spans[j][0] <= spans[i][1]:
                dist[i, j] = dist[j, i] = APART
                continue
            pair = np.linalg.norm(embedding_sets[i][:, None] - embedding_sets[j][None], axis=2)
            dist[i, j] = dist[j, i] = float(np.median(pair))
    labels = fcluster(linkage(squareform(dist), method="average"), t=SAME_IDENTITY, criterion="distance")
    # Renumber by first appearance so labels read 0, 1, 2 ... in order.
    order: dict[int, int] = {}
    return [order.setdefault(int(label), len(order)) for label in labels]


def count_term(count: int, low: int, high: int) -> float:
    """1 inside [low, high]; outside, down by 1 / max(2, nearest bound) per identity too many or too few."""
    if low <= count <= high:
        return 1.0
    bound = low if count < low else high
    return max(0.0, 1.0 - abs(count - bound) / max(2, bound))


class FaceDlibLite(Backend):
    """CenterFace detection + dlib landmarks + ResNet embeddings; identity count and within-track stability."""

    name = "face-dlib"
    version = "0.3"  # 0.3: CenterFace detection; inconclusive when face-like regions are never confirmed
    tier = "lite"

    def unavailable_reason(self, options) -> str | None:
        from ..perception.faces import missing_reason

        return missing_reason()

    def applies(self, ctx: ItemContext) -> Measurement | None:
        expected = ctx.annotation.faces
        if expected is None or expected.max_ids <= 0:
            return Measurement(Status.NOT_APPLICABLE, message="the prompt expects no faces")
        return None

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        from ..perception.faces import DETECTOR, embedder_name, face_like_share, surely_faceless, tracks_for_frames

        expected = ctx.annotation.faces  # faces expected: the runner asked applies() first
        frames = clip.frames_for(FRAMES)
        tracks = tracks_for_frames(frames, key=clip.sha256, color=clip.frames_for(COLOR_FRAMES))
        source = ctx.annotation.expected_faces_source
        if not tracks:
            evidence = {"expected_ids": [expected.min_ids, expected.max_ids], "expected_faces_source": source,
                        "primary_ids": 0, "tracks_total": 0, "frames_sampled": len(frames),
                        "detector": DETECTOR, "face_like_share": face_like_share(tracks)}
            if expected.min_ids == 0:
                # No face is within the expected range, and no track can be unstable.
                evidence.update(count_term=1.0, stability=None)
                return Measurement(Status.OK, 100.0, evidence, "no face; the prompt allows none")
            if not surely_faceless(tracks):
                return Measurement(Status.INCONCLUSIVE, evidence=evidence,
                                   message="the detector saw face-like regions but confirmed no face track; not scored")
            return Measurement(Status.NO_FACE, evidence=evidence,
                               message=f"expected {expected.min_ids}–{expected.max_ids} face identities; no face was detected")
        labels = cluster_tracks([t.embedding_array() for t in tracks], [t.frames for t in tracks])
        n_frames = max(1, len(frames))
        identities = []
        for label in sorted(set(labels)):
            covered = set()
            for track, lab in zip(tracks, labels):
                if lab == label:
                    covered.update(track.frames)
            identities.append({"identity": label, "screen_share": round(len(covered) / n_frames, 3),
                               "tracks": sum(1 for lab in labels if lab == label)})
        primary = [i for i in identities if i["screen_share"] >= PRIMARY_SHARE]
        stabilities = [track_stability(t.embedding_array()) for t in tracks]
        weights = np.array([len(t) for t in tracks], dtype=np.float64)
        stability = float(np.average(stabilities, weights=weights))
        term = count_term(len(primary), expected.min_ids, expected.max_ids)
        score = 40.0 * term + 60.0 * stability
        fps = FRAMES.fps or 25.0
        evidence = {
            "expected_ids": [expected.min_ids, expected.max_ids],
            "expected_faces_source": source,
            "primary_ids": len(primary),
            "count_term": round(term, 3),
            "stability": round(stability, 3),
            "identities": identities,
            "tracks": [
                {"track": t.track_id, "identity": lab, "start_s": round(t.start, 2), "end_s": round(t.end + 1 / fps, 2),
                 "face_px": round(t.face_height, 1), "embeddings": len(t.embeddings), "stability": round(s, 3)}
                for t, lab, s in list(zip(tracks, labels, stabilities))[:MAX_TRACKS_IN_EVIDENCE]
            ],
            "tracks_total": len(tracks),
            "frames_sampled": n_frames,
            "detector": DETECTOR,
            "embedder": embedder_name(),
            "thresholds": {"same_identity": SAME_IDENTITY, "stable": STABLE_DISTANCE, "changed": CHANGED_DISTANCE,
                           "primary_share": PRIMARY_SHARE},
        }
        message = (f"{len(primary)} primary identit{'y' if len(primary) == 1 else 'ies'} "
                   f"(expected {expected.min_ids}–{expected.max_ids}), stability {stability:.2f}")
        return Measurement(Status.OK, score, evidence, message)


# paper tier: InsightFace ------------------------------------------------------------

INSIGHT_FRAMES = INSIGHTFACE_FRAMES  # 2 fps, at most 960 px
INSIGHT_DET_SCORE = DET_SCORE
INSIGHT_ENV = "insightface"
INSIGHT_SAME_IDENTITY = 0.65  # cosine distance cut between identities (ArcFace similarity above 0.35)
INSIGHT_STABLE_SIM, INSIGHT_CHANGED_SIM = 0.5, 0.3  # agreement ramp on similarity to the identity's mean


def insightface_problem(model_dir: str | None) -> str | None:
    """Why the InsightFace backend cannot run; None when the package and a local model pack are there (with
    `--face-model DIR`, in this process), or, without it, when the `insightface` environment is set up."""
    if not model_dir:
        env = model_envs.state(INSIGHT_ENV)
        return None if env.ready else (
            "the paper tier of Face uses InsightFace buffalo_l: in its own environment (run "
            f"`{env.fix}`; now {env.reason()}), or installed here (pip install insightface) with a local model pack "
            "passed as --face-model DIR (det_10g.onnx + w600k_r50.onnx); nothing is downloaded, and the lite dlib "
            "backend is never used in the paper tier")
    try:
        import insightface  # noqa: F401
    except ImportError:
        return ("the paper tier of Face with --face-model DIR runs InsightFace in this process, and it is not "
                "installed here (pip install insightface); or leave --face-model out to use its environment "
                "(avgenbench setup paper --dimensions face)")
    det, rec = insightface_files(model_dir)
    if det is None or rec is None:
        return (f"--face-model {model_dir}: no InsightFace detection (det_*.onnx / scrfd*.onnx) and recognition "
                f"({'/'.join(REC_HINTS)} *.onnx) models found there")
    return None


def insightface_files(model_dir: str | Path) -> tuple[Path | None, Path | None]:
    return pack_files(model_dir)


def score_identities(detections: list[tuple[int, np.ndarray]], n_frames: int, low: int, high: int) -> tuple[float, dict]:
    """Face score from per-frame (frame index, unit embedding) detections: identities by average-linkage clustering
    of cosine distance (faces in one frame are different people), primary when seen on at least PRIMARY_SHARE of the
    frames; 40 · count_term + 60 · stability, stability = detection-weighted mean agreement of each embedding with
    its identity's mean direction (1 at similarity >= 0.5, 0 at <= 0.3)."""
    emb = np.stack([e for _, e in detections]).astype(np.float64)
    frames = np.array([f for f, _ in detections])
    if len(detections) == 1:
        labels = np.zeros(1, int)
    else:
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        dist = np.clip(1.0 - emb @ emb.T, 0.0, 2.0)
        dist[frames[:, None] == frames[None]] = 2.0
        np.fill_diagonal(dist, 0.0)
        labels = fcluster(linkage(squareform(dist, checks=False), method="average"), t=INSIGHT_SAME_IDENTITY,
                          criterion="distance")
    identities, agreements = [], []
    for label in sorted(set(labels.tolist())):
        members = emb[labels == label]
        centre = members.mean(axis=0)
        centre /= np.linalg.norm(centre) + 1e-12
        sims = members @ centre
        agree = np.clip((sims - INSIGHT_CHANGED_SIM) / (INSIGHT_STABLE_SIM - INSIGHT_CHANGED_SIM), 0.0, 1.0)
        agreements.extend(agree.tolist())
        share = len(set(frames[labels == label].tolist())) / max(1, n_frames)
        identities.append({"screen_share": round(share, 3), "detections": int(len(members)),
                           "mean_similarity": round(float(sims.mean()), 3)})
    primary = [i for i in identities if i["screen_share"] >= PRIMARY_SHARE]
    stability = float(np.mean(agreements))
    term = count_term(len(primary), low, high)
    return 40.0 * term + 60.0 * stability, {"primary_ids": len(primary), "count_term": round(term, 3),
                                             "stability": round(stability, 3), "identities": identities[:12]}


def expected_faces(client, item: PromptItem, annotation: PromptAnnotation) -> tuple[tuple[int, int] | None, str]:
    """(min_ids, max_ids): the suite's or frozen annotation's range, else the judge's (stage prompt.requirements, once
    per prompt, cached), else the count the rules read from the wording."""
    ruled = getattr(annotation, "expected_faces_source", None) == "rules"
    if annotation.faces is not None and not ruled:
        return (annotation.faces.min_ids, annotation.faces.max_ids), "annotation"
    if client is None:
        if annotation.faces is not None:
            return (annotation.faces.min_ids, annotation.faces.max_ids), "rules"
        return None, "none"
    faces = prompt_requirements(client, item)["faces"]
    if faces["max_ids"] < faces["min_ids"]:
        return None, "judge (unusable range)"
    return (int(faces["min_ids"]), int(faces["max_ids"])), f"judge {load('prompt.requirements').tag}"


def load_insightface(model_dir: str):
    """InsightFace's detector and recogniser from a local model pack, prepared (GPU when onnxruntime has one)."""
    import onnxruntime

    gpu = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    return load_pack(model_dir, "cuda" if gpu else "cpu")


class InsightFaceInEnv(ModelEnvBackend):
    """InsightFace buffalo_l in the `insightface` environment: each frame's faces and embeddings in the evidence."""

    name, version, env_name, media = INSIGHTFACE.name, INSIGHTFACE.version, INSIGHT_ENV, INSIGHTFACE.needs


def paper_backend() -> JudgedBackend:
    """Paper tier (`face-insightface`): InsightFace (SCRFD detection + ArcFace embeddings), buffalo_l in its own
    environment, or a LOCAL model pack in this process with `--face-model DIR`; frames at 2 fps; expected face counts
    from the suite or frozen annotation, else the judge's (once per prompt). The judge is optional: it only fills face
    counts the suite lacks. Which detector ran (the pack's name, or the environment's build) is part of the identity."""
    models: list = []  # (det, rec) once loaded
    problems: dict[str | None, str | None] = {}  # model dir -> why it cannot run (checked once)
    env = InsightFaceInEnv()

    def problem(options) -> str | None:
        model = options.get("face_model")
        if model not in problems or not model:  # the environment may be set up while this process runs
            problems[model] = insightface_problem(model)
        return problems[model]

    def detections_of(clip, ctx) -> tuple[list[tuple[int, np.ndarray]], int] | Measurement:
        if not ctx.options.get("face_model"):
            m = env.measure(clip, ctx)
            if m.status != Status.OK:
                return Measurement(Status.ERROR, message=f"InsightFace in its environment: {m.message or m.status}")
            return ([(int(d["frame"]), np.asarray(d["embedding"], np.float64)) for d in m.evidence["detections"]],
                    int(m.evidence["frames"]))
        if not models:
            models.append(load_insightface(ctx.options["face_model"]))
        images = clip.frames_for(INSIGHT_FRAMES).images
        return [(i, embedding) for i, _, embedding, _ in detect_and_embed(*models[0], images)], len(images)

    def identity_suffix(options) -> str:
        model = options.get("face_model")
        return Path(model).name if model else "env:" + env.identity(options)[1]

    def run(client, clip, ctx, repeats):
        expected, source = expected_faces(client, ctx.item, ctx.annotation)
        if expected is None:
            return Measurement(Status.NOT_APPLICABLE, evidence={"faces_from": source},
                               message="no expected face count (suite, frozen annotation or --judge)")
        if expected[1] <= 0:
            return Measurement(Status.NOT_APPLICABLE, evidence={"faces_from": source}, message="the prompt expects no faces")
        low, high = expected
        got = detections_of(clip, ctx)
        if isinstance(got, Measurement):
            return got
        detections, n_frames = got
        base = {"expected_ids": [low, high], "faces_from": source, "frames_sampled": n_frames,
                "fps": INSIGHT_FRAMES.fps, "detections": len(detections), "calls": 0, "cached": 0,
                "detector": "InsightFace " + (Path(ctx.options["face_model"]).name if ctx.options.get("face_model")
                                              else f"{PACK} in the {INSIGHT_ENV} environment")}
        if not detections:
            if low == 0:
                return {**base, "score": 100.0, "message": "no face; the prompt allows none"}
            return Measurement(Status.NO_FACE, evidence=base, message=f"expected {low}–{high} face identities; none detected")
        score, detail = score_identities(detections, n_frames, low, high)
        return {**base, **detail, "score": score,
                "message": f"{detail['primary_ids']} primary identities (expected {low}–{high}), stability {detail['stability']:.2f}"}

    backend = JudgedBackend("face-insightface", "1", run, ("prompt.requirements",), judge_optional=True,
                            tool_problem=problem, needs=MediaNeeds(frames=(INSIGHT_FRAMES,)),
                            identity_suffix=identity_suffix)
    backend.close = env.close  # type: ignore[attr-defined]  # ends the environment's worker
    return backend


DIMENSION = Dimension(
    id="face", needs=MediaNeeds(frames=(FRAMES, COLOR_FRAMES)),
    annotations_used=("faces",),
    backends={"lite": FaceDlibLite, "paper": paper_backend},
)
