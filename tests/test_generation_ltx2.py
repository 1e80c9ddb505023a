"""The local LTX-2 provider: a tiny, randomly initialised `LTX2Pipeline` (same classes as the real model, a few
thousand weights) saved to disk, loaded by the provider through `from_pretrained`, run on the CPU through the
generation runner. Needs the `generate-ltx2` extra (torch, diffusers >= 0.42, transformers); skipped without it."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch", reason="needs the generate-ltx2 extra (torch)")
diffusers = pytest.importorskip("diffusers", reason="needs the generate-ltx2 extra (diffusers)")
transformers = pytest.importorskip("transformers", reason="needs the generate-ltx2 extra (transformers)")
if not hasattr(diffusers, "LTX2Pipeline"):
    pytest.skip(f"diffusers {diffusers.__version__} has no LTX2Pipeline", allow_module_level=True)

from avgenbench import generation  # noqa: E402
from avgenbench.generation import Options, Settings, ledger as L  # noqa: E402
from avgenbench.generation.providers.ltx2 import frame_count  # noqa: E402
from avgenbench.media import MediaNeeds, decode  # noqa: E402
from avgenbench.suite import load_suite  # noqa: E402

WORDS = "a the scene with sound of rain on roof drum solo".split()


def tiny_pipeline():
    """Every component of LTX-2 at toy size: Gemma-3 text encoder, text connectors, video and audio VAEs, the
    audio-video transformer, the vocoder, and a word-level tokenizer built in memory."""
    from diffusers import (AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, FlowMatchEulerDiscreteScheduler, LTX2Pipeline,
                           LTX2VideoTransformer3DModel)
    from diffusers.pipelines.ltx2.connectors import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, GemmaTokenizerFast

    torch.manual_seed(0)
    hidden, layers = 16, 2
    text = Gemma3ForConditionalGeneration(Gemma3Config(
        text_config=dict(vocab_size=64, hidden_size=hidden, intermediate_size=32, num_hidden_layers=layers,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=64,
                         sliding_window=16),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=16, patch_size=8), mm_tokens_per_image=4)).eval()
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, **{w: 4 + i for i, w in enumerate(WORDS)}}
    words = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = GemmaTokenizerFast(tokenizer_object=words, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                   unk_token="<unk>", model_max_length=16)
    connectors = LTX2TextConnectors(
        caption_channels=hidden, text_proj_in_factor=layers + 1, video_connector_num_attention_heads=2,
        video_connector_attention_head_dim=8, video_connector_num_layers=1, video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=2, audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32)
    vae = AutoencoderKLLTX2Video(latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 16, 32),
                                 layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1), patch_size=1)
    audio_vae = AutoencoderKLLTX2Audio(base_channels=4, ch_mult=(1, 2), num_res_blocks=1, latent_channels=2, mel_bins=8,
                                       resolution=32)
    audio_tokens = 2 * 8 // audio_vae.mel_compression_ratio
    transformer = LTX2VideoTransformer3DModel(
        in_channels=8, out_channels=8, num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
        caption_channels=hidden, vae_scale_factors=(vae.temporal_compression_ratio, vae.spatial_compression_ratio,
                                                    vae.spatial_compression_ratio),
        audio_in_channels=audio_tokens, audio_out_channels=audio_tokens, audio_num_attention_heads=2,
        audio_attention_head_dim=8, audio_cross_attention_dim=16, audio_scale_factor=audio_vae.temporal_compression_ratio,
        num_layers=1)
    vocoder = LTX2Vocoder(in_channels=16, hidden_channels=8, upsample_kernel_sizes=[4, 4], upsample_factors=[2, 2],
                          resnet_kernel_sizes=[3], resnet_dilations=[[1]], output_sampling_rate=16000)
    return LTX2Pipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, audio_vae=audio_vae, text_encoder=text,
                        tokenizer=tokenizer, connectors=connectors, transformer=transformer, vocoder=vocoder)


def test_frame_count_is_8k_plus_1():
    assert frame_count(10, 24) == 241 and frame_count(5, 24) == 121 and frame_count(0.1, 24) == 1


def test_tiny_ltx2_pipeline_generates_through_the_runner(tmp_path):
    model_dir = tmp_path / "tiny-ltx2"
    tiny_pipeline().save_pretrained(model_dir)
    suite_dir = tmp_path / "suite"
    (suite_dir / "prompts").mkdir(parents=True)
    (suite_dir / "prompts" / "music.json").write_text(json.dumps([{"content": "Drum solo", "prompt": "a drum solo"}]))
    suite = load_suite(suite_dir)
    extra = {"width": 128, "height": 128, "num_frames": 17, "frame_rate": 12.0, "num_inference_steps": 2, "max_sequence_length": 16,
             "spatio_temporal_guidance_blocks": [0]}
    options = Options(model=str(model_dir), extra=extra)
    out_dir = tmp_path / "videos"
    summary = generation.run(suite, out_dir, "ltx2", options, Settings(concurrency=1))
    assert summary.counts == {"written": 1}, summary.outcomes[0].message
    assert summary.cost == 0.0
    video = out_dir / "music" / "Drum solo.mp4"
    clip = decode(str(video), MediaNeeds(needs_video=True))
    assert clip.ok, (clip.status, clip.message)  # eval can read it
    import av

    with av.open(str(video)) as container:
        assert container.streams.video[0].width == 64 and len(container.streams.audio) == 1  # toy decoder: half size
    assert L.Ledger(out_dir).get("music/Drum solo", "ltx2", str(model_dir)).state == L.WRITTEN
    assert not any((out_dir / ".staging").iterdir())  # the render was moved into place, not copied
    assert generation.run(suite, out_dir, "ltx2", options).counts == {"exists": 1}


def test_missing_weights_are_a_clear_failure(tmp_path):
    suite_dir = tmp_path / "suite"
    (suite_dir / "prompts").mkdir(parents=True)
    (suite_dir / "prompts" / "music.json").write_text(json.dumps([{"content": "X", "prompt": "x"}]))
    summary = generation.run(load_suite(suite_dir), tmp_path / "v", "ltx2", Options(model=str(tmp_path / "nowhere")),
                             Settings(concurrency=1, retries=0))
    assert summary.counts == {"failed": 1} and "cannot load" in summary.outcomes[0].message
