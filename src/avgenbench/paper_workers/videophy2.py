"""Lo-Phy, paper tier: VideoPhy-2's auto-evaluator (videophy2_autoeval, physical-commonsense task), run in the
`videophy2` environment with the mPLUG-Owl-Video code of its repository at the pinned commit.

The evaluator is asked the repository's physical-commonsense question about the video and answers with a rating.
Our part: the rating 1–5 is read from its answer (`rating_from_answer`: the first rating word or digit 1–5 standing
alone); an answer with no rating is recorded as an error, never guessed (the repository's script scores it 0).
"""

from __future__ import annotations

import re

from ..dimensions.base import Measurement, Status
from .common import PaperWorker
from .identities import VIDEOPHY2

NUM_FRAMES = 32
WEIGHTS = "videophy2_autoeval"
PROMPT = ("The following is a conversation between a curious human and an AI assistant. The assistant gives helpful, "
          "detailed, and polite answers to the user's questions.\nHuman: <|video|>\nHuman: Does this video adhere to "
          "the physical laws? Rate the video on a scale from 1 to 5, where 5 means full compliance and 1 means "
          "significant violations.\nAI: ")
GENERATE = {"do_sample": False, "top_k": 1, "temperature": 0.001, "max_length": 256}
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_RATING = re.compile(r"(?<![\w.])(one|two|three|four|five|[1-5])(?![\w]|\.\d)", re.IGNORECASE)


def rating_from_answer(answer: str) -> int | None:
    """The first rating 1–5 in the answer, as a digit or a word standing alone; None when there is none."""
    match = _RATING.search(answer or "")
    if match is None:
        return None
    token = match.group(1).lower()
    return _WORDS.get(token) or int(token)


class VideoPhy2LoPhy(PaperWorker, identity=VIDEOPHY2):
    def _build(self, weights):
        """(model, processor, tokenizer)."""
        import torch
        from mplug_owl_video.modeling_mplug_owl import MplugOwlForConditionalGeneration
        from mplug_owl_video.processing_mplug_owl import MplugOwlImageProcessor, MplugOwlProcessor
        from transformers.models.llama.tokenization_llama import LlamaTokenizer

        checkpoint = str(weights / WEIGHTS)
        tokenizer = LlamaTokenizer.from_pretrained(checkpoint)
        processor = MplugOwlProcessor(MplugOwlImageProcessor.from_pretrained(checkpoint), tokenizer)
        model = MplugOwlForConditionalGeneration.from_pretrained(checkpoint, torch_dtype=torch.bfloat16,
                                                                 device_map={"": "cpu"})
        return model.to(self._device).to(torch.bfloat16).eval(), processor, tokenizer

    def measure(self, clip, ctx) -> Measurement:
        import torch

        model, processor, tokenizer = self._load()
        inputs = processor(text=[PROMPT], videos=[str(clip.path)], num_frames=NUM_FRAMES, return_tensors="pt")
        inputs = {k: (v.bfloat16() if v.dtype == torch.float else v).to(self._device) for k, v in inputs.items()}
        with torch.no_grad():
            tokens = model.generate(**inputs, **GENERATE)
        answer = tokenizer.decode(tokens.tolist()[0], skip_special_tokens=True)
        rating = rating_from_answer(answer)
        evidence = {"answer": answer.strip()[:300], "frames": NUM_FRAMES, "device": self._device}
        if rating is None:
            return Measurement(Status.ERROR, None, evidence, "the evaluator's answer holds no rating 1–5")
        return Measurement(Status.OK, float(rating), evidence)


if __name__ == "__main__":
    from ..worker import serve

    serve(VideoPhy2LoPhy())
