"""Who each paper worker is (name, version) and the media it needs: imported by both sides (the backends in
the dimension files and the workers), and importing nothing of the dimensions, so neither side's import can
loop through the other."""

from __future__ import annotations

from dataclasses import dataclass

from ..media import FrameSpec, MediaNeeds

Q_ALIGN_FRAMES = FrameSpec(1.0, 768, False)  # 1 fps, as one-align's own video loader samples
SYNCHFORMER_FRAMES = FrameSpec(25.0, 512, False)  # the rate Synchformer was trained at; scaled to 256 px in the worker
SYNCHFORMER_CROP_S = 5.0
INSIGHTFACE_FRAMES = FrameSpec(fps=2, max_side=960)  # Face's paper sampling (dimensions/face.py)


@dataclass(frozen=True)
class Identity:
    name: str
    version: str
    needs: MediaNeeds


Q_ALIGN = Identity("vis-q-align", "1", MediaNeeds(frames=(Q_ALIGN_FRAMES,)))
AUDIOBOX = Identity("aud-audiobox-aesthetics-pq", "1", MediaNeeds(audio_rates=(16000,), needs_video=False,
                                                                  needs_audio=True))
SYNCHFORMER = Identity("av-synchformer", "1", MediaNeeds(frames=(SYNCHFORMER_FRAMES,), audio_rates=(16000,),
                                                         needs_video=True, needs_audio=True,
                                                         min_seconds=SYNCHFORMER_CROP_S))
SYNCNET = Identity("lip-syncnet-v2", "1", MediaNeeds(needs_video=True, needs_audio=True))  # the pipeline reads the file
WHISPER = Identity("speech-faster-whisper", "1", MediaNeeds(audio_rates=(16000,), needs_video=False, needs_audio=True))
INSIGHTFACE = Identity("face-insightface-detections", "1", MediaNeeds(frames=(INSIGHTFACE_FRAMES,)))
VIDEOPHY2 = Identity("lo-phy-videophy2", "2", MediaNeeds(needs_video=True))  # its processor reads the file
