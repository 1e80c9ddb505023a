"""Stand-in for the two `transformers` entry points the Q-Align and VideoPhy-2 workers call, enforcing their call
contract (arguments, types, files of the weights folder). Packaged at test time as the module `transformers`."""

from pathlib import Path


class _List:
    def __init__(self, values):
        self.values = list(values)

    def tolist(self):
        return list(self.values)


def level_logits(brightness: float) -> list[float]:
    """Level-word logits (excellent … bad) that rise with the frames' mean brightness (0–1)."""
    return [4 * brightness, 2 * brightness, 1.0, 2 * (1 - brightness), 4 * (1 - brightness)]


class _OneAlign:
    weight_tensor = _List([5.0, 3.75, 2.5, 1.25, 0.0])  # one-align weighs the levels on 0–5

    def score(self, videos, task_="quality", input_="image"):
        import math

        import numpy as np
        from PIL import Image

        assert (task_, input_) == ("quality", "video"), (task_, input_)
        assert isinstance(videos, list) and len(videos) == 1, "one video per call"
        frames = videos[0]
        assert isinstance(frames, list) and frames, "a video is a list of frames"
        assert all(isinstance(f, Image.Image) and f.mode == "RGB" for f in frames), "frames are RGB PIL images"
        brightness = float(np.mean([np.asarray(f, dtype=float).mean() for f in frames])) / 255
        logits = level_logits(brightness)
        top = max(logits)
        probs = [math.exp(z - top) for z in logits]
        return _List([sum(p * w for p, w in zip(probs, self.weight_tensor.values)) / sum(probs)])


class AutoModelForCausalLM:
    @staticmethod
    def from_pretrained(path, trust_remote_code=False, device_map=None, torch_dtype=None, **rest):
        assert trust_remote_code is True, "one-align loads its own remote code"
        assert (Path(path) / "config.json").is_file(), f"{path} is not a model snapshot"
        assert device_map == "cpu" or str(device_map).startswith("cuda"), device_map
        assert not rest, rest
        return _OneAlign()
