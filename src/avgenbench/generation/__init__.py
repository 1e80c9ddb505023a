"""Generation: a suite's prompts in, OUT/<category>/<safe name>.mp4 out, from one of several providers.

`run(...)` is the entry point the CLI calls; `PROVIDERS` names every provider (see README, "Generating videos").
Library code only: no command-line parsing here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .base import Fatal, Options, Provider
from .prices import PriceError, load_prices
from .runner import Outcome, Settings, Summary, run as run_suite

# name -> (module under generation.providers, class, one-line description)
PROVIDERS: dict[str, tuple[str, str, str]] = {
    "synthetic": ("synthetic", "SyntheticProvider", "renders prompts carrying a 'synthetic' clip spec (demo, tests)"),
    "veo": ("veo", "VeoProvider", "Google Veo via google-genai (Vertex AI: API key or project)"),
    "wan": ("wan", "WanProvider", "Alibaba Wan via DashScope REST (X-DashScope-Async)"),
    "kling": ("kling", "KlingProvider", "Kling REST, JWT signed from access + secret key"),
    "replicate": ("replicate", "ReplicateProvider", "Replicate predictions via the replicate SDK"),
    "fal": ("fal", "FalProvider", "fal.ai queue via the fal-client SDK"),
    "seedance": ("seedance", "SeedanceProvider", "ByteDance Seedance via Volcengine Ark's SDK (volcengine-ark-runtime)"),
    "runway": ("runway", "RunwayProvider", "Runway via the runwayml SDK"),
    "ltx2": ("ltx2", "LTX2Provider", "local LTX-2 via diffusers LTX2Pipeline (GPU)"),
}


def parse_params(pairs: list[str]) -> dict:
    """KEY=VALUE strings (from --param) into provider options; a VALUE that parses as JSON is taken as such."""
    import json

    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects KEY=VALUE, got {pair!r}")
        try:
            extra[key.strip()] = json.loads(value)
        except ValueError:
            extra[key.strip()] = value
    return extra


def make_provider(name: str, options: Options | None = None, base_url: str | None = None) -> Provider:
    try:
        module, cls, _ = PROVIDERS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}") from None
    klass = getattr(importlib.import_module(f"{__name__}.providers.{module}"), cls)
    return klass(options, base_url)


def run(suite, out_dir: Path | str, provider: str, options: Options | None = None, settings: Settings | None = None,
        prices: Path | str | dict | None = None, base_url: str | None = None, on_outcome=None) -> Summary:
    """Generate `suite` into `out_dir` with the named provider (see runner.run for the rules)."""
    return run_suite(suite, make_provider(provider, options, base_url), out_dir, settings, prices, on_outcome)


__all__ = ["PROVIDERS", "Fatal", "Options", "Outcome", "PriceError", "Provider", "Settings", "Summary",
           "load_prices", "make_provider", "parse_params", "run"]
