"""The paper tier's model backends for Vis, Aud, AV, Lip and Lo-Phy: each measures through its worker in the model's
own environment (`avgenbench setup paper`; in_env.ModelEnvBackend). Name, version and media needs come from the worker
module itself, so the two sides cannot disagree.
"""

from __future__ import annotations

from typing import Any

from ..paper_workers.identities import AUDIOBOX, Q_ALIGN, SYNCHFORMER, SYNCNET, VIDEOPHY2
from .base import Backend, ItemContext, Measurement, Status
from .in_env import ModelEnvBackend


class VisQAlignPaper(ModelEnvBackend):
    name, version, env_name, media = Q_ALIGN.name, Q_ALIGN.version, "q-align", Q_ALIGN.needs


class AudAudioboxPaper(ModelEnvBackend):
    name, version, env_name, media = AUDIOBOX.name, AUDIOBOX.version, "audiobox-aesthetics", AUDIOBOX.needs


class AVSynchformerPaper(ModelEnvBackend):
    name, version, env_name, media = SYNCHFORMER.name, SYNCHFORMER.version, "synchformer", SYNCHFORMER.needs


class LipSyncNetPaper(ModelEnvBackend):
    name, version, env_name, media = SYNCNET.name, SYNCNET.version, "syncnet", SYNCNET.needs

    def applies(self, ctx: ItemContext) -> Measurement | None:
        faces = ctx.annotation.faces
        if faces is not None and faces.max_ids <= 0:
            return Measurement(Status.NOT_APPLICABLE, message="the prompt expects no face on screen, so no lips to sync")
        return None


class VideoPhy2Paper(ModelEnvBackend):
    name, version, env_name, media = VIDEOPHY2.name, VIDEOPHY2.version, "videophy2", VIDEOPHY2.needs

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        reason = super().unavailable_reason(options)
        return reason and (f"VideoPhy-2 is not set up ({reason}); or pass --lo-phy judge for a judge-based 1–5 "
                           "rating (labelled as such, not VideoPhy-2)")


class LoPhyPaperEnv(Backend):
    """Lo-Phy's paper entry: VideoPhy-2 in its environment, or with `--lo-phy judge` the judge-based rating (labelled
    as not VideoPhy-2; lo_phy.LoPhyJudge)."""

    name, version, tier = VIDEOPHY2.name, VIDEOPHY2.version, "paper"

    def __init__(self) -> None:
        from .lo_phy import LoPhyJudge  # lo_phy.py names this class as its paper backend

        self._judge = LoPhyJudge()
        self._videophy2 = VideoPhy2Paper()

    def _chosen(self, options: dict[str, Any]) -> Backend:
        return self._judge if options.get("lo_phy") == "judge" else self._videophy2

    def needs(self):
        return self._videophy2.needs().merge(self._judge.needs())

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        return self._chosen(options).unavailable_reason(options)

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        return self._chosen(options).identity(options)

    def measure(self, clip, ctx) -> Measurement:
        return self._chosen(ctx.options).measure(clip, ctx)

    def close(self) -> None:
        self._videophy2.close()
