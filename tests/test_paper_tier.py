"""The paper tier's wiring: every dimension has a paper backend, the model backends name their environment, the
judge's default model and its price, and eval's --device values."""

from __future__ import annotations

import pytest

from avgenbench.dimensions import DIMENSION_IDS, get_dimension
from avgenbench.dimensions.in_env import ModelEnvBackend, valid_device
from avgenbench.judge.pricing import price_for
from avgenbench.judge.spec import parse_spec
from avgenbench.model_envs import MODEL_ENVS


def test_every_dimension_has_a_paper_backend_and_the_model_ones_use_an_environment():
    assert all("paper" in get_dimension(d).backends for d in DIMENSION_IDS)
    env_backed = {}
    for d in ("vis", "aud", "av", "lip"):
        backend = get_dimension(d).backends["paper"]()
        assert isinstance(backend, ModelEnvBackend) and backend.tier == "paper"
        env_backed[d] = backend.env_name
        assert MODEL_ENVS[backend.env_name].dimension == d
        name, version = backend.identity({})
        assert name == backend.name and version.startswith(backend.version + "+")
    assert env_backed == {"vis": "q-align", "aud": "audiobox-aesthetics", "av": "synchformer", "lip": "syncnet"}


def test_lo_phy_paper_is_videophy2_in_its_environment_unless_the_judge_is_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path))
    backend = get_dimension("lo_phy").backends["paper"]()
    reason = backend.unavailable_reason({"lo_phy": "videophy2"})
    assert "VideoPhy-2 is not set up" in reason and "avgenbench setup paper --dimensions lo_phy" in reason
    assert backend.identity({"lo_phy": "videophy2"})[0] == "lo-phy-videophy2"
    assert backend.identity({"lo_phy": "judge"})[0] == "lo-phy-judge-not-videophy2"


def test_speech_paper_without_its_environment_or_a_model_names_the_setup_command(monkeypatch, tmp_path):
    from avgenbench.dimensions.speech import SpeechPaper

    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path))
    backend = SpeechPaper()
    reason = backend.unavailable_reason({})
    assert "needs a Whisper model" in reason and "--whisper-model" in reason
    assert "run `avgenbench setup paper --dimensions speech [--weights DIR]`" in reason
    assert backend.identity({})[1].endswith("+env:1+unbuilt+no-weights")  # rows say which build transcribed
    assert backend.identity({"whisper_model": "/models/tiny"})[1].endswith("+tiny")
    assert MODEL_ENVS["faster-whisper"].worker == "avgenbench.paper_workers.whisper"


def test_gemini_without_a_model_means_the_reference_default():
    spec = parse_spec("gemini")
    assert spec.label == "gemini:gemini-3-flash-preview"
    assert parse_spec("gemini:").model == "gemini-3-flash-preview"
    assert parse_spec("gemini:gemini-2.5-pro").model == "gemini-2.5-pro"
    with pytest.raises(ValueError):
        parse_spec("openai")  # no default for other providers
    assert price_for(spec, None) == (0.50, 3.00)
    assert price_for(parse_spec("gemini:gemini-3-pro-preview")) == (2.00, 12.0)


@pytest.mark.parametrize("value, ok", [("cpu", True), ("auto", True), ("cuda", True), ("cuda:1", True),
                                       ("CUDA:0", True), ("cuda:x", False), ("gpu", False), ("", False)])
def test_device_values(value, ok):
    assert valid_device(value) is ok
