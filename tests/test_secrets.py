"""One redaction rule for the judge, generation and the report: given keys and secret-named environment values."""

from __future__ import annotations

from avgenbench.secrets import MASK, environment_secrets, redact


def test_given_keys_and_secret_named_environment_values_are_masked(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-1234567890")
    monkeypatch.setenv("AUTH_MODE", "on")  # too short to be a secret: masking it would blank every "on"
    monkeypatch.setenv("HOME_DIR_PATH", "/home/someone-long")  # not a secret name
    text = "key sk-abcdef failed; token tok-1234567890 in /home/someone-long, mode on"
    masked = redact(text, ["sk-abcdef"])
    assert "sk-abcdef" not in masked and "tok-1234567890" not in masked
    assert masked.count(MASK) == 2 and "/home/someone-long" in masked and "mode on" in masked
    assert "tok-1234567890" in environment_secrets()


def test_a_secret_that_contains_another_is_masked_whole():
    assert redact("the key is abc123-long", ["abc123", "abc123-long"], environ={}) == f"the key is {MASK}"


def test_the_judge_generation_and_report_share_the_rule(monkeypatch):
    from avgenbench.generation import runner
    from avgenbench.judge import client
    from avgenbench.report import _redact_environment_secrets

    monkeypatch.setenv("SOME_API_KEY", "k-0987654321")
    assert runner.redact is redact and client.redact is redact
    assert _redact_environment_secrets("<p>k-0987654321</p>") == f"<p>{MASK}</p>"
