"""The three-layer view of the benchmark: perceptual quality, semantic alignment, controllability.

It sits next to the paper's basic / cross / fine groups and changes no total: a layer's score is the plain mean of
the normalised scores of its dimensions that have one (like the paper's group scores), nothing is weighted.
- perceptual: how the picture, the sound and their sync look and sound, whatever the prompt says (Vis, Aud, AV,
  Lip: Lip measures the mouth-voice offset, a signal alignment, not what is said);
- semantic: whether the content is what the prompt asks or what the world allows (Text, Face, Music, Speech,
  Lo-Phy, Hi-Phy, Holistic; Lo-Phy is here because it judges physical common sense, not signal quality);
- controllability: whether the sound follows the prompt's instructions over time (Control, outside Scheme 2).
"""

from __future__ import annotations

LAYERS: dict[str, str] = {
    "vis": "perceptual", "aud": "perceptual", "av": "perceptual", "lip": "perceptual",
    "text": "semantic", "face": "semantic", "music": "semantic", "speech": "semantic", "lo_phy": "semantic",
    "hi_phy": "semantic", "holistic": "semantic",
    "ctrl": "controllability",
}
LAYER_NAMES = {"perceptual": "Perceptual quality", "semantic": "Semantic alignment",
               "controllability": "Controllability"}


def layer_scores(normalized: dict[str, float | None]) -> dict[str, float | None]:
    """Mean normalised score per layer over its dimensions with a score; None for a layer without any."""
    out: dict[str, float | None] = {}
    for layer in LAYER_NAMES:
        values = [v for d, v in normalized.items() if v is not None and LAYERS.get(d) == layer]
        out[layer] = sum(values) / len(values) if values else None
    return out


def card_layers(card) -> dict[str, float | None]:
    """Layer scores of a score card (score.ScoreCard): its Scheme-2 dimensions and the ones beside the total."""
    normalized = {d: s.normalized for d, s in card.dimensions.items()}
    normalized.update({d: s.normalized for d, s in getattr(card, "beside", {}).items()})
    return layer_scores(normalized)
