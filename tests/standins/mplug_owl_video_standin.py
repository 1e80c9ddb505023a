"""Stand-in for VideoPhy-2's mplug_owl_video (processing + modeling), enforcing the call contract of its inference
script. The answer's rating is 1 + (video file size mod 5), so a test knows what to expect."""

from pathlib import Path

import torch

FRAMES_EXPECTED = 32


class MplugOwlImageProcessor:
    @classmethod
    def from_pretrained(cls, path):
        assert (Path(path) / "preprocessor_config.json").is_file(), f"no preprocessor_config.json in {path}"
        return cls()


class MplugOwlProcessor:
    def __init__(self, image_processor, tokenizer):
        assert isinstance(image_processor, MplugOwlImageProcessor)
        self.tokenizer = tokenizer

    def __call__(self, text=None, videos=None, num_frames=None, return_tensors=None):
        assert return_tensors == "pt" and num_frames == FRAMES_EXPECTED
        assert isinstance(text, list) and len(text) == 1 and "<|video|>" in text[0] and text[0].endswith("AI: ")
        assert isinstance(videos, list) and len(videos) == 1 and Path(videos[0]).is_file(), videos
        return {"input_ids": torch.tensor([[1, 2, 3]]), "attention_mask": torch.ones(1, 3, dtype=torch.long),
                "video_pixel_values": torch.zeros(1, 3, num_frames, 8, 8),
                "file_size": torch.tensor([Path(videos[0]).stat().st_size])}


class MplugOwlForConditionalGeneration:
    @classmethod
    def from_pretrained(cls, path, torch_dtype=None, device_map=None):
        assert torch_dtype == torch.bfloat16 and device_map == {"": "cpu"}, (torch_dtype, device_map)
        assert (Path(path) / "config.json").is_file(), f"{path} is not a checkpoint folder"
        return cls()

    def to(self, target):
        return self

    def eval(self):
        return self

    def generate(self, input_ids, attention_mask, video_pixel_values, file_size, do_sample, top_k, temperature,
                 max_length):
        assert video_pixel_values.dtype == torch.bfloat16, "float inputs are cast to bfloat16"
        assert input_ids.dtype == torch.long and video_pixel_values.shape[2] == FRAMES_EXPECTED
        assert (do_sample, top_k, max_length) == (False, 1, 256) and temperature < 0.01
        rating = 1 + int(file_size.item()) % 5
        return torch.tensor([[ord(c) for c in f"I would rate it {rating} out of 5."]])
