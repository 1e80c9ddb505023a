"""Face: primary identity count and stability (0–100, higher is better).

Lite backend (dlib, see perception/faces.py): faces are detected and tracked over frames sampled at 25 fps (shared
with Lip, so each clip is tracked once per process); each track carries a 128-d dlib embedding when it starts and
then about every 1.2 s. Tracks are clustered into identities (average linkage of track-to-track median embedding
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

Statuses: prompts with no faces annotation or max_ids == 0 -> not_applicable; faces required (min_ids >= 1) but no face
track (a face confirmed by at least three detections) -> no_face. When the range allows none (min_ids == 0) a faceless
clip scores 100: the count is in range and there is no track to be unstable.
"""

from __future__ import annotations

import numpy as np

from ..media import Clip, FrameSpec, MediaNeeds
from .base import Backend, Dimension, ItemContext, Measurement, Status, scale

FRAMES = FrameSpec(fps=25, max_side=640)  # shared with Lip
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
    """dlib HOG + landmarks + ResNet embeddings; identity count and within-track stability."""

    name = "face-dlib"
    version = "0.1"
    tier = "lite"

    def needs(self) -> MediaNeeds:
        return MediaNeeds(frames=(FRAMES,))

    def unavailable_reason(self, options) -> str | None:
        from ..perception.faces import missing_reason

        return missing_reason()

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        from ..perception.faces import tracks_for_frames

        expected = ctx.annotation.faces
        if expected is None or expected.max_ids <= 0:
            return Measurement(Status.NOT_APPLICABLE, message="the prompt expects no faces")
        frames = clip.frames_for(FRAMES)
        tracks = tracks_for_frames(frames, key=clip.sha256)
        if not tracks:
            evidence = {"expected_ids": [expected.min_ids, expected.max_ids], "primary_ids": 0, "tracks_total": 0,
                        "frames_sampled": len(frames)}
            if expected.min_ids == 0:
                # No face is within the expected range, and no track can be unstable.
                evidence.update(count_term=1.0, stability=None)
                return Measurement(Status.OK, 100.0, evidence, "no face; the prompt allows none")
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
            "thresholds": {"same_identity": SAME_IDENTITY, "stable": STABLE_DISTANCE, "changed": CHANGED_DISTANCE,
                           "primary_share": PRIMARY_SHARE},
        }
        message = (f"{len(primary)} primary identit{'y' if len(primary) == 1 else 'ies'} "
                   f"(expected {expected.min_ids}–{expected.max_ids}), stability {stability:.2f}")
        return Measurement(Status.OK, score, evidence, message)


DIMENSION = Dimension(
    id="face", display="Face", group="fine", unit="score 0–100", higher_is_better=True,
    normalize=scale(1), worst_raw=0.0, needs=MediaNeeds(frames=(FRAMES,)),
    annotations_used=("faces",),
    backends={"lite": FaceDlibLite},
    description="Expected number of stable face identities.",
)
