"""The HTML report: escaping, self-containedness, drill-down content, secrets, tiers; demo; a real headless browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from avgenbench.cli import app
from avgenbench.report import build_report
from avgenbench.store import Store
from avgenbench.suite import safe_filename
from avgenbench.synthetic.encode import write_clip
from html_tree import parse
from stored_rows import full_rows, row, write_run

runner = CliRunner()
INJECTED = '<script>alert("pwned")</script>'
SECRET_ENV_VALUE = "s3cr3t-value-from-env-1234"
API_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"
GOOD, CORRUPT, MISSING = "Good Clip", f"Corrupt {INJECTED}", "Missing Clip"


def _good_clip(path: Path) -> None:
    frames = []
    for i in range(36):
        image = np.zeros((64, 96, 3), np.uint8)
        image[:, : 8 + i * 2] = (40, 160, 220)  # a bar that grows: keyframes differ
        frames.append(image)
    t = np.arange(int(1.5 * 48000)) / 48000
    write_clip(path, frames, fps=24, audio=0.3 * np.sin(2 * np.pi * 440 * t), sample_rate=48000)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    suite = root / "suite"
    (suite / "prompts").mkdir(parents=True)
    (suite / "prompts" / "ads.json").write_text(json.dumps([
        {"content": GOOD, "prompt": f"A blue bar grows. {INJECTED} The sign reads 'SALE'."},
        {"content": MISSING, "prompt": "Nothing was generated for this one."}]), encoding="utf-8")
    (suite / "prompts" / "news.json").write_text(json.dumps([{"content": CORRUPT, "prompt": "An anchor speaks."}]),
                                                  encoding="utf-8")
    videos = root / "videos"
    good_path = videos / "ads" / f"{safe_filename(GOOD)}.mp4"
    _good_clip(good_path)
    corrupt_path = videos / "news" / f"{safe_filename(CORRUPT)}.mp4"
    corrupt_path.parent.mkdir(parents=True)
    corrupt_path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    good, corrupt, missing = f"ads/{safe_filename(GOOD)}", f"news/{safe_filename(CORRUPT)}", f"ads/{safe_filename(MISSING)}"
    rows = [
        row("lite-run", good, "vis", "ok", 0.72, video_path=str(good_path), content=GOOD,
            evidence={"laplacian_var": 15.678912, "note": INJECTED, "api_key": API_KEY}),
        row("lite-run", good, "text", "ok", 40.0, video_path=str(good_path), content=GOOD,
            evidence={"required_text": ["SALE", "NOW"], "found_text": ["SALE", "N0W <b>bold</b>"],
                      "detections": [{"text": "SALE", "t": 0.5, "conf": 0.91}, {"text": "N0W", "t": 1.0, "conf": 0.4}]}),
        row("lite-run", good, "hi_phy", "ok", 55.0, video_path=str(good_path), content=GOOD,
            evidence={"judge_model": "judge-test-7", "template_version": "hi-phy-v2",
                      "verdict": f"plausible {INJECTED}", "authorization": "Bearer xyz"}),
        row("lite-run", good, "aud", "error", None, video_path=str(good_path), content=GOOD,
            message=f"backend crashed with token {SECRET_ENV_VALUE}"),
        row("lite-run", corrupt, "vis", "unreadable", None, video_path=str(corrupt_path), content=CORRUPT,
            message="the file could not be opened"),
        row("lite-run", corrupt, "text", "ok", 90.0, video_path=str(corrupt_path), content=CORRUPT),
        row("lite-run", missing, "vis", "missing_video", None, content=MISSING, message="no video file for this prompt"),
        row("lite-run", missing, "text", "not_applicable", None, content=MISSING, message="the prompt asks for no text"),
    ]
    write_run(root / "out", "lite-run", rows, suite_dir=str(suite), videos_dir=str(videos))
    write_run(root / "out", "paper-run", full_rows("paper-run", {"vis": [0.5, 0.6]}, tier="paper"), tier="paper")
    html_path = root / "report.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AVGENBENCH_TEST_API_TOKEN", SECRET_ENV_VALUE)
        build_report(root / "out", html_path, ci_draws=200, now=datetime(2026, 1, 2, tzinfo=timezone.utc))
    return {"root": root, "html": html_path.read_text(encoding="utf-8"), "path": html_path}


def _video_block(html: str, content_fragment: str) -> str:
    for block in re.findall(r'<details class="video[ "].*?</details>\n', html, flags=re.S):
        if content_fragment in block:
            return block
    raise AssertionError(f"no drill-down for {content_fragment}")


def test_injected_markup_renders_as_text(built):
    html = built["html"]
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_self_contained(built):
    html = built["html"]
    assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', html, flags=re.I)
    assert "<link" not in html.lower() and "@import" not in html and "url(" not in html
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert len(sources) >= 7 and all(s.startswith("data:image/") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', html))


def test_drilldown_content(built):
    html = built["html"]
    good = _video_block(html, GOOD)
    assert "A blue bar grows." in good and "The sign reads &#39;SALE&#39;." in good
    assert good.count("data:image/jpeg") == 5  # four keyframes and the spectrogram
    assert "audio spectrogram" in good
    for text in ("required text", "found text", "SALE", "N0W", "detections", "conf", "0.91", "15.68", "judge-test-7"):
        assert text in good, text
    assert "vis-signal" not in good and "test-backend 1.0" in good
    assert "tool fault (excluded)" in good and "backend crashed" in good
    corrupt = _video_block(html, "Corrupt")
    assert "could not decode the video" in corrupt and "data:image/jpeg" not in corrupt
    assert "scored as the worst value (strict policy)" in corrupt
    missing = _video_block(html, MISSING)
    assert "no video file was found" in missing and "not scored" in missing


def test_secrets_never_rendered(built):
    html = built["html"]
    assert API_KEY not in html and "Bearer xyz" not in html and SECRET_ENV_VALUE not in html
    assert "[redacted]" in html


def test_leaderboard_tiers_and_run_sections(built):
    html = built["html"]
    tables = dict(re.findall(r'<table class="leaderboard" data-tier="(\w+)">(.*?)</table>', html, flags=re.S))
    assert set(tables) == {"lite", "paper"}
    assert "lite-run" in tables["lite"] and "paper-run" not in tables["lite"]
    assert "paper-run" in tables["paper"] and "lite-run" not in tables["paper"]
    assert "partial coverage" in tables["lite"]
    assert re.search(r'<td class="ci">\[\d+\.\d\d, \d+\.\d\d\]</td>', tables["lite"])
    assert 'id="run-lite-run"' in html and 'id="run-paper-run"' in html
    assert "Generated 2026-01-02 00:00 UTC" in html


def test_failure_gallery_and_provenance(built):
    html = built["html"]
    gallery = html.split('id="run-lite-run-failures"')[1].split('id="run-lite-run-videos"')[0]
    assert "unreadable" in gallery and "the file could not be opened" in gallery and "error" in gallery
    assert gallery.index(">Vis<") < gallery.index(f'{safe_filename(GOOD)}</a>')
    prov = html.split('id="run-lite-run-provenance"')[1].split("</section>")[0]
    for text in ("strict", "test-backend 1.0", "judge_model", "judge-test-7", "template_version", "hi-phy-v2",
                 "percentile bootstrap", "200 resamples"):
        assert text in prov, text


def test_report_command(built, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(built["root"] / "out"), "--run", "paper-run", "-o", str(out),
                                 "--no-media", "--draws", "50"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout.replace("\n", "")
    html = out.read_text(encoding="utf-8")
    assert 'id="run-paper-run"' in html and 'id="run-lite-run"' not in html and "lite-run" in html  # leaderboard: all
    assert runner.invoke(app, ["report", str(built["root"] / "out"), "--run", "nope", "-o", str(out)]).exit_code == 3
    assert runner.invoke(app, ["report", str(tmp_path / "empty"), "-o", str(out)]).exit_code == 3


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return out, result.stdout


def test_demo_ends_with_report(demo_report):
    out, stdout = demo_report
    path = out / "report.html"
    assert "report:" in stdout and str(path) in stdout.replace("\n", "")
    html = path.read_text(encoding="utf-8")
    from avgenbench.suite import demo_suite_path, load_suite

    n_prompts = len(load_suite(demo_suite_path()).items)
    assert 'data-tier="lite"' in html and html.count('<details class="video ') == n_prompts
    section = parse(html).find("section", id="run-synthetic")
    opened = [v for v in section.find_all("details", cls="video") if "open" in v.attrs]
    assert len(opened) == 1 and Path(opened[0].find("p", cls="path").text().removeprefix("video: ")).is_file()
    card = section.find("div", cls="videos-card").find("div", cls="value").text()
    assert card == f"{n_prompts} / {n_prompts}"
    assert not section.find_all("span", cls="badge")  # tier gaps and not-applicable rows are not problems


# A real browser ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("CI is set but no chromium is installed: the report must be checked in a real browser")
    pytest.skip("chromium not installed (apt-get install chromium); the browser check runs in CI")


def _browse(browser: str, html_path: Path, tmp_path: Path, shot_name: str) -> tuple[str, str, Path]:
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    url = html_path.resolve().as_uri()
    dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    shot = tmp_path / shot_name
    snap = subprocess.run(common + [f"--screenshot={shot}", "--window-size=1280,2000", url], capture_output=True,
                          text=True, timeout=120)
    assert dom.returncode == 0 and snap.returncode == 0, dom.stderr[-2000:] + snap.stderr[-2000:]
    artifacts = os.environ.get("AVGENBENCH_ARTIFACTS")
    if artifacts and shot.is_file():
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / shot_name)
    return dom.stdout, dom.stderr + snap.stderr, shot


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_browser_renders_demo_report(chromium, demo_report, tmp_path):
    from PIL import Image

    out, _ = demo_report
    dom, stderr, shot = _browse(chromium, out / "report.html", tmp_path, "demo-report.png")
    assert _console_lines(stderr) == []
    assert '<table class="leaderboard" data-tier="lite">' in dom
    assert re.search(r'<details class="video v-present[^"]*" id="[^"]+" open="">', dom)
    assert '<table class="measure">' in dom and "How to read this page" in dom
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 2000)
    assert np.asarray(image).std() > 10  # something was drawn, not a blank page


def test_browser_shows_injected_markup_as_text(chromium, built, tmp_path):
    dom, stderr, _ = _browse(chromium, built["path"], tmp_path, "injected-report.png")
    assert _console_lines(stderr) == []  # an executed or blocked script would log here
    assert "<script" not in dom.lower().replace("&lt;script", "")
    assert "&lt;script&gt;alert(\"pwned\")&lt;/script&gt;" in dom


def test_expected_versus_found_is_marked(built):
    good = _video_block(built["html"], GOOD)
    cmp = re.search(r'<div class="cmp">.*?</div>', good, flags=re.S).group(0)
    assert "required text vs found text" in cmp
    assert re.search(r'class="chip hit"[^>]*>✓ SALE<', cmp) and re.search(r'class="chip miss"[^>]*>✗ NOW<', cmp)
    assert "also found:" in cmp and "N0W &lt;b&gt;bold&lt;/b&gt;" in cmp


def test_comparison_pairs_from_evidence():
    from avgenbench.report.data import comparisons

    pairs = comparisons({"expected_ids": 2, "detected_ids": 3, "notes": {"expected": ["C4", "E4"], "detected": ["c4 ", "G4"]},
                         "required_words": ["hi"], "other": 1})
    single, notes = pairs
    assert single["single"] and single["items"] == [{"value": 2, "found": False}] and single["found_value"] == 3
    assert notes["expected_key"] == "notes.expected" and notes["found_key"] == "notes.detected"
    assert notes["items"] == [{"value": "C4", "found": True}, {"value": "E4", "found": False}] and notes["extra"] == ["G4"]


def test_preview_of_a_silent_clip(tmp_path):
    from avgenbench.report.media_preview import preview

    path = write_clip(tmp_path / "silent.mp4", [np.full((48, 64, 3), 30 * i, np.uint8) for i in range(8)], fps=8)
    result = preview(str(path))
    assert len(result.thumbnails) == 4 and result.spectrogram is None
    assert result.notes == ["no audio stream"]
    times = [t["time"] for t in result.thumbnails]
    assert times == sorted(times) and times[-1] > times[0]


# What the report says about missing, failing and not-applicable videos, n, and incomplete runs -----------------------

ABSENT = f"Aardvark Absent {INJECTED}"  # sorts first: a report that opens its first video opens a missing one
BRAVO, CHARLIE, DELTA = "Bravo Present", "Charlie Silent", "Delta Never Evaluated"
STATUS_RUN = "status <i>run</i>"


@pytest.fixture(scope="module")
def status_report(tmp_path_factory):
    """A run of 4 prompts: one video missing, one present and fine, one present with a fault of the video and two
    not-applicable dimensions, and one prompt never evaluated. Lip and Text are scored on one video only."""
    root = tmp_path_factory.mktemp("status")
    suite = root / "suite"
    (suite / "prompts").mkdir(parents=True)
    (suite / "prompts" / "clips.json").write_text(json.dumps(
        [{"content": c, "prompt": f"prompt of {c}"} for c in (ABSENT, BRAVO, CHARLIE, DELTA)]), encoding="utf-8")
    videos = root / "videos"
    paths = {c: videos / "clips" / f"{safe_filename(c)}.mp4" for c in (BRAVO, CHARLIE)}
    for path in paths.values():
        _good_clip(path)
    key = {c: f"clips/{safe_filename(c)}" for c in (ABSENT, BRAVO, CHARLIE, DELTA)}
    rows = [row(STATUS_RUN, key[ABSENT], d, "missing_video", None, content=ABSENT, message="no video file")
            for d in ("vis", "aud", "text", "lip")]
    rows += [row(STATUS_RUN, key[BRAVO], d, "ok", raw, video_path=str(paths[BRAVO]), content=BRAVO)
             for d, raw in (("vis", 0.8), ("aud", 7.0), ("text", 60.0), ("lip", 1.0))]
    rows += [row(STATUS_RUN, key[CHARLIE], "vis", "ok", 0.5, video_path=str(paths[CHARLIE]), content=CHARLIE),
             row(STATUS_RUN, key[CHARLIE], "aud", "no_audio_stream", None, video_path=str(paths[CHARLIE]),
                 content=CHARLIE, message="the file has no audio stream"),
             row(STATUS_RUN, key[CHARLIE], "text", "not_applicable", None, video_path=str(paths[CHARLIE]),
                 content=CHARLIE, message="the prompt asks for no on-screen text"),
             row(STATUS_RUN, key[CHARLIE], "lip", "not_applicable", None, video_path=str(paths[CHARLIE]),
                 content=CHARLIE, message="no face and no required speech")]
    rows += [row(STATUS_RUN, key[c], "hi_phy", "unavailable_in_tier", None, video_path=str(paths[c]), content=c,
                 message="no lite backend") for c in (BRAVO, CHARLIE)]  # by design of the tier, not a problem
    out = root / "out"
    write_run(out, STATUS_RUN, rows, policy="reference", suite_dir=str(suite), videos_dir=str(videos))
    with Store(out) as store:
        store.write_media(STATUS_RUN, key[ABSENT], None, "missing_video", 0, 0.0, {})
    html_path = build_report(out, root / "report.html", ci_draws=200)
    html = html_path.read_text(encoding="utf-8")
    return {"html": html, "tree": parse(html), "key": key, "paths": paths}


def _section(tree, run_anchor: str):
    return tree.find("section", id=run_anchor)


def test_report_opens_a_video_that_exists(status_report):
    section = _section(status_report["tree"], "run-status__i_run__i_")
    videos = section.find_all("details", cls="video")
    assert "v-missing" in videos[0].classes  # the first listed is the missing one...
    opened = [v for v in videos if "open" in v.attrs]
    assert len(opened) == 1 and "v-present" in opened[0].classes  # ...but the opened one exists
    assert BRAVO in opened[0].find("summary").text()
    assert Path(opened[0].find("p", cls="path").text().removeprefix("video: ")).is_file()
    assert opened[0].find_all("img")  # its keyframes are shown
    link = section.find("p", cls="opened").find("a")
    assert link.attrs["href"] == "#" + opened[0].attrs["id"]


def test_video_filters_and_badges(status_report):
    section = _section(status_report["tree"], "run-status__i_run__i_")
    by_content = {v.find("summary").text(): v for v in section.find_all("details", cls="video")}
    absent = next(v for t, v in by_content.items() if t.startswith("clips Aardvark"))
    bravo = next(v for t, v in by_content.items() if BRAVO in t)
    charlie = next(v for t, v in by_content.items() if CHARLIE in t)
    assert absent.classes == {"video", "v-missing"} and bravo.classes == {"video", "v-present"}
    assert charlie.classes == {"video", "v-present", "v-failing"}
    labels = {lab.attrs["for"].rsplit("-", 1)[1]: lab.text() for lab in section.find("div", cls="flabels").find_all("label")}
    assert labels == {"all": "all (3)", "present": "present (2)", "missing": "missing (1)", "failing": "failing (1)"}
    radios = section.find("div", cls="vfilters").find_all("input")
    assert [r.attrs["id"].rsplit("-", 1)[1] for r in radios] == ["all", "present", "missing", "failing"]
    css = status_report["tree"].find("style").text()
    for f in ("present", "missing", "failing"):
        assert f".f-{f}:checked ~ .vlist > details.video:not(.v-{f})" in css
    # not applicable is not a problem: Charlie has one fault of the video and two not-applicable rows
    assert [b.text() for b in charlie.find_all("span", cls="badge")] == ["1 fault of the video"]
    assert bravo.find_all("span", cls="badge") == []
    assert [b.text() for b in absent.find_all("span", cls="badge")] == ["no video"]


def test_gallery_is_built_from_present_videos(built, status_report):
    tree = parse(built["html"])
    missing_key = f"ads/{safe_filename(MISSING)}"
    gallery = tree.find("table", cls="gallery")
    vis_row = next(tr for tr in gallery.find_all("tr") if tr.find_all("td") and tr.find("td").text() == "Vis")
    assert missing_key not in vis_row.text() and safe_filename(CORRUPT) in vis_row.text()  # strict: the worst present
    problems = tree.find("table", cls="problems").text()
    assert "missing_video" not in problems and "not_applicable" not in problems and "unreadable" in problems
    missing_list = tree.find("h4", cls="missing-list")
    assert missing_list.text() == "Missing videos (1)"
    section = _section(status_report["tree"], "run-status__i_run__i_")
    problems = section.find("table", cls="problems").text()
    assert "no_audio_stream" in problems and "not_applicable" not in problems and "missing_video" not in problems
    assert "not applicable 2" in section.find("p", cls="not-scored").text()
    assert "unavailable_in_tier" not in problems and "lite tier" in section.find("p", cls="unavailable").text()
    assert section.find("p", cls="unavailable").text().endswith(": Hi-Phy.")


def test_videos_card_counts_found_of_total(built, status_report):
    section = _section(parse(built["html"]), "run-lite-run")
    assert section.find("div", cls="videos-card").find("div", cls="value").text() == "2 / 3"
    card = _section(status_report["tree"], "run-status__i_run__i_").find("div", cls="videos-card")
    assert card.find("div", cls="value").text() == "2 / 4"
    assert "videos present of 4 prompts in the suite; 1 missing; 1 with a fault of the video; 1 not evaluated" in card.text()


def test_incomplete_run_is_marked(status_report, built):
    section = _section(status_report["tree"], "run-status__i_run__i_")
    assert section.find("h2").find("span", cls="incomplete").text() == "incomplete"
    total = section.find("div", cls="big")
    assert "incomplete" in total.classes
    assert "INCOMPLETE: evaluated 3 of 4 prompts; 2 have a video" in total.text()
    assert section.find("p", cls="not-evaluated").text() == status_report["key"][DELTA]
    board = status_report["tree"].find("table", cls="leaderboard")
    entry = next(tr for tr in board.find_all("tr") if "<i>run</i>" in tr.text())
    assert "incomplete" in entry.classes and "evaluated 3 of 4 prompts; 2 have a video" in entry.text()
    paper = _section(parse(built["html"]), "run-paper-run").find("div", cls="big")
    assert "incomplete" not in paper.classes and "evaluated 2 prompts (suite size unknown); 2 have a video" in paper.text()


def test_n_on_every_number_and_no_interval_from_one_prompt(status_report):
    html, section = status_report["html"], _section(status_report["tree"], "run-status__i_run__i_")
    dims = {tr.find("td").text(): tr for tr in section.find("table", cls="dims").find_all("tr") if tr.find_all("td")}
    assert dims["Lip"].find("td", cls="ci").text() == "n = 1, no interval"
    assert dims["Text"].find("td", cls="ci").text() == "n = 1, no interval"
    assert re.fullmatch(r"\[\d+\.\d, \d+\.\d\]", dims["Vis"].find("td", cls="ci").text())
    assert "[87.5, 87.5]" not in html
    caption = section.find("figcaption", cls="nsummary").text()
    assert "Lip 87.5, n = 1, no interval" in caption and re.search(r"Vis \d+\.\d \[[^]]+\], n = 2", caption)
    assert "Lo-Phy no score, n = 0" in caption and section.find("img", cls="chart").attrs["alt"].endswith(caption)
    board = status_report["tree"].find("table", cls="leaderboard")
    entry = next(tr for tr in board.find_all("tr") if "<i>run</i>" in tr.text())
    lip_cell = entry.find_all("td", cls="dim")[3]
    assert "n = 1, no interval" in lip_cell.text() and "n = 1" in lip_cell.find("small", cls="n").text()


def test_charts_write_n_into_the_image():
    from avgenbench.report import plots
    from avgenbench.score import score_rows

    rows = [row("r", f"ads/p{i}", "vis", "ok", v) for i, v in enumerate((0.4, 0.6, 0.8))]
    rows += [row("r", "news/p0", "lip", "ok", 1.0), row("r", "news/p0", "vis", "ok", 0.5)]
    card = score_rows(rows, ci_draws=100)
    texts = [t.get_text() for t in plots.bars_figure(card).axes[0].texts]
    assert "n = 4" in texts and "n = 1, no interval" in texts and "no score (n = 0)" in texts
    bars = plots.bars_figure(card).axes[0]
    assert len(bars.collections) == 1  # one whisker (Vis); none for the single Lip prompt
    from avgenbench.report.data import scored_counts

    heat = plots.heatmap_figure(card, scored_counts(rows, "strict")["categories"]).axes[0]
    cell_texts = [t.get_text() for t in heat.texts]
    assert cell_texts.count("n=3") == 1 and cell_texts.count("n=1") == 2  # ads×Vis; news×Vis, news×Lip


def test_prompt_and_file_text_stays_escaped(status_report):
    html = status_report["html"]
    assert "<script" not in html.lower() and "<i>run</i>" not in html
    section = _section(status_report["tree"], "run-status__i_run__i_")
    absent = section.find_all("details", cls="v-missing")[0]
    assert INJECTED in absent.find("summary").text()  # shown as text: the parser saw no element
    assert not absent.find("summary").find_all("script")
    assert "status <i>run</i>" in section.find("h2").text()
    assert 'alt="bar chart of the 11 dimension scores of run status &lt;i&gt;run&lt;/i&gt;' in html


# The demo: the truth is known, so it is printed beside what was measured -----------------------------------------

LINE = "The festival opens tonight."


def test_demo_truth_beside_measurement(tmp_path):
    from avgenbench.demo import truth_lines, truth_vs_measured
    from avgenbench.synthetic.generator import render

    clip = tmp_path / "ads" / "Sale.mp4"
    clip.parent.mkdir()
    truth = render({"width": 160, "height": 96, "duration": 2.0, "background": "flat", "audio_offset_ms": 80,
                    "impacts": [0.5, 1.3], "notes": [{"chord": ["C4", "E4", "G4"], "start": 0.2, "duration": 0.8}],
                    "texts": [{"text": "SALE", "size": 20, "garble_edits": 1, "seed": 3}],
                    "speech": [{"text": LINE, "start": 0.3, "duration": 1.2, "babble_without_tts": True}]}, clip)
    rendered = truth["texts"][0]["rendered"]
    key, path = "ads/Sale", str(clip)
    rows = [row("r", key, "av", "ok", 0.09, video_path=path,
                evidence={"offset_ms": 72.4, "expected_abs_offset_ms": 90.0, "confidence": 0.8}),
            row("r", key, "music", "ok", 100.0, video_path=path, evidence={"detected": [
                {"t": 0.21, "name": "E4", "midi": 64}, {"t": 0.2, "name": "C4", "midi": 60}, {"t": 0.22, "name": "G4", "midi": 67},
                {"t": 1.5, "name": "A4", "midi": 69}]}),
            row("r", key, "text", "ok", 40.0, video_path=path,
                evidence={"required": [{"required": "SALE", "best_match": "SA1E", "seen": True}], "other_text": []}),
            row("r", key, "face", "not_applicable", None, video_path=path),
            row("r", key, "speech", "no_speech", None, video_path=path, message="speech required, none detected")]
    [result] = truth_vs_measured(rows)
    checks = {c.what: c for c in result.checks}
    assert set(checks) == {"AV offset", "notes", "on-screen text", "speech line"}  # no faces in truth or measured
    assert checks["AV offset"].truth == "+80 ms" and checks["AV offset"].measured.startswith("+72 ms, confidence 0.80")
    assert checks["notes"].truth == "C4+E4+G4" and checks["notes"].measured == "C4+E4+G4 A4"
    assert rendered != "SALE" and checks["on-screen text"].truth == f"'{rendered}' (garbled from 'SALE')"
    assert checks["on-screen text"].measured == "'SA1E'"
    assert checks["speech line"].measured == "none (no_speech: speech required, none detected)"
    assert checks["speech line"].status == "no_speech"
    text = "\n".join(truth_lines([result]))
    if shutil.which("espeak-ng"):
        assert checks["speech line"].truth == f"'{LINE}'" and "babble" not in text
    else:  # the generator recorded the substitution; the demo says so
        assert truth["substituted"][0]["used"] == "babble"
        assert checks["speech line"].truth == f"babble in place of '{LINE}' (no TTS)"
        assert f"note: ads/Sale: the voice line '{LINE}' was replaced by babble: espeak-ng is not installed" in text
    assert "no truth file" in truth_lines(truth_vs_measured([row("r", "x/y", "vis", "ok", 0.5,
                                                                  video_path=str(tmp_path / "y.mp4"))]))[-1]


def test_demo_prints_truth(demo_report):
    out, stdout = demo_report
    assert "Truth vs measured" in stdout
    assert "notes:           true C4 E4 G4 C5 | measured " in stdout
    assert "on-screen text:  true 'EVENING NEWS' | measured " in stdout
    assert "faces:           true 1 identity | measured " in stdout
    assert "speech line:" in stdout and "AV offset:       true +0 ms" in stdout
    if not shutil.which("espeak-ng"):
        assert "note: news/Evening News Opening: the voice line 'Good evening." in stdout
        assert "was replaced by babble: espeak-ng is not installed" in stdout


def test_printed_card_says_no_interval_for_one_prompt(tmp_path):
    """The card the demo (and `score`) prints: a dimension scored on one video has no interval, not [87.5, 87.5]."""
    rows = [row("r", f"ads/p{i}", "vis", "ok", v) for i, v in enumerate((0.4, 0.6, 0.8))]
    rows.append(row("r", "ads/p0", "lip", "ok", 1.0))
    write_run(tmp_path, "r", rows)
    result = runner.invoke(app, ["score", str(tmp_path), "--draws", "200"])
    assert result.exit_code == 0, result.output
    lip = next(line for line in result.stdout.splitlines() if line.strip().startswith("Lip"))
    assert "87.5 (n = 1, no interval)" in lip and "[" not in lip
    vis = next(line for line in result.stdout.splitlines() if line.strip().startswith("Vis"))
    assert re.search(r"60\.0 \[\d+\.\d, \d+\.\d\]", vis)
