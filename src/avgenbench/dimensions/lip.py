"""Lip: lip synchronisation (paper: SyncNet offset, frames at 25 fps, lower is better).

Lite backend: per face track (perception/faces.py, CenterFace detection, frames at 25 fps shared with Face) the mouth
opening from the 68 landmarks (`mouth_series`: inner plus outer lip gap over the eye distance's 1 s running median) is
cross-correlated with the speech-band envelope of the audio (16 kHz, 4th-order Butterworth band-pass 300–3000 Hz, zero
phase, RMS in 40 ms windows centred on each frame's display interval). Both series lose their 1 s moving average and
are z-scored; the Pearson correlation is taken at every lag in ±MAX_LAG frames. The offset is the lag of the peak
(positive: the audio comes after the mouth); its confidence is the peak minus the median correlation over lags (as
SyncNet's), and its significance z = confidence · sqrt(n / 6) for n frames (speech envelopes decorrelate over about 6
frames, so n / 6 is the effective sample count; for unrelated syllable envelopes z stays below 2.5 in 95 % of draws at
80, 125 and 250 frames, matching ones reach 3–7). raw = mean |offset| over confident tracks (z ≥ MIN_Z, at least
MIN_TRACK_FRAMES frames). Real 5 s clips rarely reach MIN_Z (z 1–2.3 on the dialogue dev clips: profile and small
faces give jittery landmarks), so without a confident track the |offset| of the best-following track with z ≥ WEAK_Z
and moving lips is scored (`weak_track` in the evidence): an unrelated mouth lands anywhere in ±15 frames, ~7.5 on
average, close to the worst value; on the dev clips those offsets grow with an added 400 ms audio delay on 7 of 7.

Statuses: a prompt expecting no face (expected count 0) -> not_applicable before decoding. A prompt naming an unseen
voice (annotations.voiceover_cue: voiceover, narrator, off-screen voice ...) -> not_applicable when no face shows or no
mouth follows the audio. No face track -> no_face when the prompt requires speech and the detector is sure there is no
face (faces.surely_faceless), inconclusive when it saw face-like regions it never confirmed, not_applicable when no
speech is required. A face but no speech-band energy -> no_speech when speech is required, else not_applicable. Faces,
but none on screen for MIN_TRACK_FRAMES frames -> no_events. Faces and speech but no track whose mouth follows the
audio even weakly: worst value (8 frames) when speech is required, else not_applicable (the visible faces need not be
the speaker).
"""

from __future__ import annotations

import numpy as np

from ..media import Clip, MediaNeeds
from . import paper_models
from .base import Backend, Dimension, ItemContext, Measurement, Status, inverse

from .face import COLOR_FRAMES, FRAMES  # shared with Face: grey 25 fps for landmarks, colour for embeddings
AUDIO_RATE = 16000
FPS = 25
MAX_LAG = 15
MIN_TRACK_FRAMES = 40
MIN_Z = 2.5
WEAK_Z = 1.0  # below MIN_Z but above this, the best-following track's offset is still scored (see module docstring)
MIN_MOUTH_MOTION = 0.02  # a weak track must move its lips this much (std of the mouth series)
DECORRELATION_FRAMES = 6
SPEECH_FLOOR_DBFS = -50.0  # band energy below this is silence
ABOVE_QUIET_DB = 6.0  # ... and so is energy within this of the clip's quietest 10 % (steady noise or a music bed)
MIN_SPEECH_SECONDS = 0.5
WORST = 8.0


def speech_envelope(audio: np.ndarray, rate: int, n_frames: int, fps: float = FPS) -> np.ndarray:
    """RMS of the 300–3000 Hz band in 40 ms windows centred at (k + 0.5) / fps, for k < n_frames."""
    from scipy.signal import butter, sosfiltfilt

    if audio.size < 32:
        return np.zeros(n_frames)
    sos = butter(4, [300, 3000], btype="bandpass", fs=rate, output="sos")
    band = sosfiltfilt(sos, audio.astype(np.float64))
    power = np.concatenate([[0.0], np.cumsum(band ** 2)])
    half = int(0.02 * rate)
    centres = ((np.arange(n_frames) + 0.5) / fps * rate).astype(int)
    lo = np.clip(centres - half, 0, band.size)
    hi = np.clip(centres + half, 0, band.size)
    return np.sqrt((power[hi] - power[lo]) / np.maximum(hi - lo, 1))


def speech_seconds(envelope: np.ndarray, fps: float = FPS) -> float:
    """Seconds of speech-band energy above the floor and above the clip's own quiet level (steady sound is not speech)."""
    if envelope.size == 0:
        return 0.0
    db = 20 * np.log10(np.maximum(envelope, 1e-9))
    threshold = max(SPEECH_FLOOR_DBFS, float(np.percentile(db, 10)) + ABOVE_QUIET_DB)
    return float(np.sum(db > threshold) / fps)


def _detrend(x: np.ndarray) -> np.ndarray:
    from scipy.ndimage import uniform_filter1d

    return x - uniform_filter1d(x, size=FPS, mode="nearest")


def sync_offset(mouth: np.ndarray, frames: np.ndarray, envelope: np.ndarray, max_lag: int = MAX_LAG) -> tuple[int, float, list[float]]:
    """(offset, confidence, correlation per lag) between a track's mouth series at frame indices `frames` and the
    clip's envelope; offset > 0 means the audio follows the mouth by that many frames."""
    m = _detrend(np.asarray(mouth, dtype=np.float64))
    e = _detrend(np.asarray(envelope, dtype=np.float64))
    frames = np.asarray(frames)
    corr = []
    for lag in range(-max_lag, max_lag + 1):
        idx = frames + lag
        ok = (idx >= 0) & (idx < e.size)
        if ok.sum() < 10:
            corr.append(0.0)
            continue
        a, b = m[ok], e[idx[ok]]
        sa, sb = a.std(), b.std()
        corr.append(float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb)) if sa > 1e-9 and sb > 1e-12 else 0.0)
    best = int(np.argmax(corr))
    confidence = float(corr[best] - np.median(corr))
    return best - max_lag, confidence, corr


class LipLandmarkLite(Backend):
    """Mouth opening (dlib landmarks on CenterFace tracks) against the speech-band envelope."""

    name = "lip-landmark-envelope"
    version = "0.3"  # 0.3: CenterFace tracks, two-gap mouth series, weak tracks scored, voice-over and inconclusive rules
    tier = "lite"

    def needs(self) -> MediaNeeds:
        return MediaNeeds(frames=(FRAMES, COLOR_FRAMES), audio_rates=(AUDIO_RATE,), needs_audio=True)

    def unavailable_reason(self, options) -> str | None:
        from ..perception.faces import missing_reason

        return missing_reason()

    def applies(self, ctx: ItemContext) -> Measurement | None:
        faces = ctx.annotation.faces
        if faces is not None and faces.max_ids <= 0:
            return Measurement(Status.NOT_APPLICABLE,
                               evidence={"expected_faces_source": ctx.annotation.expected_faces_source},
                               message="the prompt expects no face on screen, so no lips to sync")
        return None

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        from ..annotations import voiceover_cue
        from ..perception.faces import face_like_share, mouth_series, surely_faceless, tracks_for_frames

        decided = self.applies(ctx)
        if decided is not None:
            return decided
        required = bool(ctx.annotation.speech_required)
        voiceover = voiceover_cue(ctx.item.prompt)
        frames = clip.frames_for(FRAMES)
        tracks = tracks_for_frames(frames, key=clip.sha256, color=clip.frames_for(COLOR_FRAMES))
        envelope = speech_envelope(clip.audio_at(AUDIO_RATE), AUDIO_RATE, len(frames))
        speech_s = speech_seconds(envelope)
        base = {"speech_band_s": round(speech_s, 2), "voiceover_cue": voiceover}
        if not tracks:
            base["face_like_share"] = face_like_share(tracks)
            if voiceover:
                return Measurement(Status.NOT_APPLICABLE, evidence=base,
                                   message=f"no face on screen and the prompt names an unseen voice ('{voiceover}')")
            if not required:
                return Measurement(Status.NOT_APPLICABLE, evidence=base, message="no face and no required speech")
            if not surely_faceless(tracks):
                return Measurement(Status.INCONCLUSIVE, evidence=base,
                                   message="the detector saw face-like regions but confirmed no face track; not scored")
            return Measurement(Status.NO_FACE, evidence=base, message="speech is required but no face is visible")
        if speech_s < MIN_SPEECH_SECONDS:
            if required:
                return Measurement(Status.NO_SPEECH, evidence=base,
                                   message="speech is required but the audio has no speech-band energy")
            return Measurement(Status.NOT_APPLICABLE, evidence=base, message="faces but no speech in the audio")
        per_track = []
        for track in tracks:
            entry = {"track": track.track_id, "start_s": round(track.start, 2), "end_s": round(track.end + 1 / FPS, 2),
                     "frames": len(track)}
            if len(track) < MIN_TRACK_FRAMES:
                entry["skipped"] = f"shorter than {MIN_TRACK_FRAMES} frames"
                per_track.append(entry)
                continue
            mouth = mouth_series(track.landmark_array())
            offset, confidence, _ = sync_offset(mouth, np.asarray(track.frames), envelope)
            z = confidence * np.sqrt(len(track) / DECORRELATION_FRAMES)
            entry.update(offset=offset, confidence=round(confidence, 3), z=round(float(z), 2), confident=bool(z >= MIN_Z),
                         mouth_motion=round(float(np.std(mouth)), 4))
            per_track.append(entry)
        if not any("offset" in e for e in per_track):
            return Measurement(Status.NO_EVENTS, evidence={**base, "tracks": per_track[:12]},
                               message=f"no face stays on screen for {MIN_TRACK_FRAMES} frames; too short to align")
        confident = [e for e in per_track if e.get("confident")]
        evidence = {**base, "tracks": per_track[:12], "tracks_total": len(per_track),
                    "max_lag": MAX_LAG, "min_z": MIN_Z, "weak_z": WEAK_Z, "sign": "offset > 0: audio after the mouth"}
        if confident:
            raw = float(np.mean([abs(e["offset"]) for e in confident]))
            evidence["confident_tracks"] = len(confident)
            return Measurement(Status.OK, raw, evidence,
                               f"mean |offset| {raw:.1f} frames over {len(confident)} confident track(s)")
        evidence["confident_tracks"] = 0
        weak = [e for e in per_track if e.get("z", 0.0) >= WEAK_Z and e.get("mouth_motion", 0.0) >= MIN_MOUTH_MOTION]
        if weak:
            best = max(weak, key=lambda e: e["z"])
            evidence["weak_track"] = best["track"]
            return Measurement(Status.OK, float(abs(best["offset"])), evidence,
                               f"|offset| {abs(best['offset'])} frames from the best-following mouth (z {best['z']:.1f}, "
                               f"below {MIN_Z:g}: a weak but usable alignment)")
        if voiceover or not required:
            why = f"the prompt names an unseen voice ('{voiceover}')" if voiceover else "the prompt requires no speech"
            return Measurement(Status.NOT_APPLICABLE, evidence=evidence,
                               message=f"no visible mouth follows the audio, and {why}")
        return Measurement(Status.OK, WORST, evidence,
                           f"no visible mouth follows the speech within ±{MAX_LAG} frames; scored as worst ({WORST:g})")


DIMENSION = Dimension(
    id="lip", display="Lip", group="cross", unit="offset frames @25 fps", higher_is_better=False,
    normalize=inverse(8), worst_raw=8.0,
    needs=MediaNeeds(frames=(FRAMES, COLOR_FRAMES), audio_rates=(AUDIO_RATE,), needs_audio=True),
    annotations_used=("faces", "speech_required"),
    backends={"lite": LipLandmarkLite, "paper": paper_models.LipSyncNetPaper},
    description="Lip-audio offset of visible speakers.",
)
