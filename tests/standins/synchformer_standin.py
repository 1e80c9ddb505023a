"""Stand-in for Synchformer's scripts.train_utils (get_model, get_transforms, prepare_inputs), enforcing what the
worker must hand them: the patched config, a test-time item of 25 fps uint8 frames with a 256 px shorter side and
mono 16 kHz audio, and a crop start inside the clip. Its logits peak at the offset start/10 s plus a learned bias."""

import torch

CROP_FRAMES, CROP_SAMPLES = 125, 80000


class _Model(torch.nn.Module):
    start = -1.0

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(classes))
        self.grid = torch.linspace(-2, 2, classes)

    def forward(self, vid, aud):
        assert vid.shape[0] == 1 and tuple(vid.shape[1:]) == (CROP_FRAMES, 3, 224, 224), tuple(vid.shape)
        assert tuple(aud.shape) == (1, CROP_SAMPLES), tuple(aud.shape)
        start = _Model.start  # the crop's start, as prepare_inputs last saw it
        return None, (-3.0 * (self.grid - start / 10.0) ** 2 + self.bias)[None]


def get_model(cfg, device):
    assert isinstance(device, torch.device)
    params = cfg.model.params
    assert params.afeat_extractor.params.ckpt_path is None and params.vfeat_extractor.params.ckpt_path is None
    assert ".sync_model." in params.transformer.target and ".feature_selector." not in params.transformer.target
    return None, _Model(int(params.transformer.params.off_head_cfg.params.out_features))


def get_transforms(cfg, splits):
    assert splits == ["test"]

    def transform(item):
        video, audio = item["video"], item["audio"]
        assert item["split"] == "test" and item["meta"] == {"video": {"fps": [25]}, "audio": {"framerate": [16000]}}
        assert video.dtype == torch.uint8 and video.ndim == 4 and video.shape[1] == 3 and min(video.shape[2:]) == 256
        assert video.shape[2] % 2 == 0 and video.shape[3] % 2 == 0
        assert audio.dtype == torch.float32 and audio.ndim == 1
        start, offset = item["targets"]["v_start_i_sec"], item["targets"]["offset_sec"]
        assert offset == 0.0 and start >= 0
        first, sample = int(round(start * 25)), int(round(start * 16000))
        assert first + CROP_FRAMES <= video.shape[0] and sample + CROP_SAMPLES <= audio.shape[0], "crop outside the clip"
        top, left = (video.shape[2] - 224) // 2, (video.shape[3] - 224) // 2
        crop = video[first:first + CROP_FRAMES, :, top:top + 224, left:left + 224].float() / 255
        return {"video": crop, "audio": audio[sample:sample + CROP_SAMPLES], "start": torch.tensor(start),
                "targets": {"offset_sec": offset}}

    return {"test": transform}


def prepare_inputs(batch, device):
    _Model.start = float(batch["start"][0])
    return batch["audio"].to(device), batch["video"].to(device), batch["targets"]
