"""`avgenbench doctor`: the checklist of what each dimension of a tier needs, and whether it is here."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..dimensions import DIMENSION_IDS
from ..dimensions.base import TIERS
from ..dimensions.lo_phy import LO_PHY_MODES
from .common import EXIT_BAD_INPUT, EXIT_OK, check_choice, command_group, dimensions_or_exit, emit_json, out

app = command_group()


@app.command("doctor")
def doctor_cmd(
    tier: str = typer.Option("lite", "--tier", help="lite or paper."),
    dimensions: Optional[str] = typer.Option(None, "--dimensions", help=f"Comma list of: {','.join(DIMENSION_IDS)} (default all)."),
    whisper_model: Optional[Path] = typer.Option(None, "--whisper-model", help="As for eval: local faster-whisper model folder."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="As for eval: local InsightFace model pack folder."),
    ocr_detector: Optional[str] = typer.Option(None, "--ocr-detector", help="As for eval: int8 or fp32."),
    lo_phy: str = typer.Option("videophy2", "--lo-phy", help="As for eval: videophy2 or judge."),
    judge: Optional[str] = typer.Option(None, "--judge", help="As for eval: gemini:MODEL or openai:MODEL[?settings]."),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="As for eval: the judge endpoint."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Checklist of a tier: per dimension its backend, ready or missing and why, and the fix; and the judge.

    Takes eval's judge and model options. Exit 0 when every dimension checked can run (with the default list, those the
    tier has no backend for are listed but not counted), 2 when one is missing: eval would stop with this list."""
    from ..doctor import check
    from ..judge.cache import default_cache_path

    check_choice(tier, TIERS, "tier")
    check_choice(lo_phy, LO_PHY_MODES, "--lo-phy")
    dims = dimensions_or_exit(dimensions)
    options: dict = {"lo_phy": lo_phy}
    if judge:
        options.update(judge=judge, judge_base_url=judge_base_url, judge_cache=str(default_cache_path()))
    for key, value in (("whisper_model", whisper_model), ("face_model", face_model), ("ocr_detector", ocr_detector)):
        if value is not None:
            options[key] = str(value)
    checklist = check(tier, dims, options)
    if as_json:
        emit_json(checklist.as_dict())
    else:
        out.print(checklist.text(), highlight=False, soft_wrap=True)
    explicit = bool(dimensions) and dimensions.strip() != "all"
    raise typer.Exit(EXIT_BAD_INPUT if checklist.blocking(explicit) else EXIT_OK)
