"""Generation providers against loopback servers speaking their protocols: submit, poll, download; 429 and 5xx
retried (by the runner alone: each SDK's own retries are off), truncated downloads re-fetched, failed jobs and
refusals recorded, and a crash between submit and poll resumed without a second submission. Runway, Replicate, fal,
Seedance and Veo run through their official SDKs (installed by the `test` extra), Kling and Wan through REST; every
request is checked to come from the client the provider names. Keys never reach the ledger, messages or output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from avgenbench import generation
from avgenbench.generation import Options, Settings, ledger as L
from avgenbench.generation.base import DONE, Fatal
from avgenbench.media import MediaNeeds, decode
from avgenbench.suite import load_suite
from avgenbench.synthetic.encode import write_clip

from gen_loopback import Loopback
from gen_protocols import KLING_SECRET, PROTOCOLS, SECRET, make_protocol

API_PROVIDERS = sorted(PROTOCOLS)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_clip(path, [np.full((32, 32, 3), 40 * i % 255, np.uint8) for i in range(12)], 12)
    return path.read_bytes()


def make_suite(root: Path, prompts: list[str]):
    (root / "prompts").mkdir(parents=True)
    (root / "prompts" / "ads.json").write_text(json.dumps([{"content": p, "prompt": f"{p}: a scene with sound."}
                                                           for p in prompts]))
    return load_suite(root)


def settings(**kw) -> tuple[Settings, list[float]]:
    sleeps: list[float] = []
    base = dict(concurrency=1, retries=3, backoff=0.5, sleep=sleeps.append)
    base.update(kw)
    return Settings(**base), sleeps


def provider_for(name: str, server: Loopback, monkeypatch, **kw):
    for var, value in make_protocol(name, b"").env.items():
        monkeypatch.setenv(var, value)
    p = generation.make_provider(name, Options(**kw), base_url=server.url)
    p.poll_interval = 0.0
    return p


def submits(server: Loopback) -> int:
    return server.submits


@pytest.mark.parametrize("name", API_PROVIDERS)
def test_transient_faults_are_retried_and_the_video_lands(name, tmp_path, video, monkeypatch):
    suite = make_suite(tmp_path / "suite", ["Drum solo"])
    with Loopback(make_protocol(name, video), video) as server:
        server.faults = {"submit": [429, 503], "poll": [429, 503], "download": ["truncate", 502]}
        s, sleeps = settings()
        summary = generation.run_suite(suite, provider_for(name, server, monkeypatch), tmp_path / "out", s)
        assert not any(server.faults.values())  # every injected fault was met
    out = summary.outcomes[0]
    assert out.status == "written", out.message
    assert server.submits == 1  # the failed submit attempts were refused by the server, never accepted
    final = tmp_path / "out" / "ads" / "Drum solo.mp4"
    assert final.read_bytes() == video and decode(str(final), MediaNeeds(needs_video=True)).ok
    # six transient faults, six backoff waits (doubling within each call): the runner met every fault itself, so
    # no SDK retried one on its own (an SDK retry would use up a fault without a wait here, and pay twice on submit)
    assert [w for w in sleeps if w > 0] == [0.5, 1.0] * 3
    assert sorted(p.name for p in (tmp_path / "out" / "ads").iterdir()) == ["Drum solo.mp4"]  # no partial file
    job = L.Ledger(tmp_path / "out").get("ads/Drum solo", name, summary.model)
    assert job.state == L.WRITTEN and job.job_id == out.job_id


@pytest.mark.parametrize("name", API_PROVIDERS)
def test_failed_and_refused_jobs_are_recorded_and_not_resubmitted(name, tmp_path, video, monkeypatch, capsys):
    suite = make_suite(tmp_path / "suite", ["FAILME job", "REFUSEME job", "REFUSE-AT-SUBMIT job", "Fine job"])
    out_dir = tmp_path / "out"
    with Loopback(make_protocol(name, video), video) as server:
        provider = provider_for(name, server, monkeypatch)
        first = generation.run_suite(suite, provider, out_dir, settings()[0])
        status = {o.key.split("/")[1]: o for o in first.outcomes}
        assert status["FAILME job"].status == "failed" and status["FAILME job"].message
        assert status["REFUSEME job"].status == "refused" and status["REFUSEME job"].message
        assert status["REFUSE-AT-SUBMIT job"].status == "refused"
        assert status["Fine job"].status == "written"
        assert server.submits == 3  # the submit-time refusal created no job
        again = generation.run_suite(suite, provider_for(name, server, monkeypatch), out_dir, settings()[0])
        assert server.submits == 3  # nothing paid twice: failures are read back from the ledger
        assert [o.status for o in again.outcomes] == ["failed", "refused", "refused", "exists"]
        retry = generation.run_suite(suite, provider_for(name, server, monkeypatch), out_dir,
                                     settings(retry_failed=True)[0])
        assert server.submits == 5 and retry.counts == {"failed": 1, "refused": 2, "exists": 1}
    assert not any(p.suffix == ".mp4" for p in (out_dir / "ads").iterdir() if p.name != "Fine job.mp4")
    leaked = [SECRET, KLING_SECRET]
    texts = [(out_dir / L.LEDGER_NAME).read_bytes().decode("latin-1"), json.dumps(first.as_dict()),
             json.dumps(again.as_dict()), capsys.readouterr().out]
    texts += [p.read_bytes().decode("latin-1") for p in out_dir.glob(L.LEDGER_NAME + "-*")]
    assert not any(secret in text for secret in leaked for text in texts)


class Crash(BaseException):
    """Stands for the process dying (kill, power cut) right after the job id was committed."""


@pytest.mark.parametrize("name", API_PROVIDERS)
def test_crash_between_submit_and_poll_resumes_without_a_second_submit(name, tmp_path, video, monkeypatch):
    suite = make_suite(tmp_path / "suite", ["Rain on a roof"])
    out_dir = tmp_path / "out"
    with Loopback(make_protocol(name, video), video) as server:
        doomed = provider_for(name, server, monkeypatch)

        def die(job_id):
            raise Crash()
        doomed.poll = die
        with pytest.raises(Crash):
            generation.run_suite(suite, doomed, out_dir, settings()[0])
        assert server.submits == 1
        job = L.Ledger(out_dir).get("ads/Rain on a roof", name, doomed.model)
        assert job.state == L.SUBMITTED and job.job_id
        dry = generation.run_suite(suite, provider_for(name, server, monkeypatch), out_dir, settings(dry_run=True)[0])
        assert dry.outcomes[0].status == "planned" and job.job_id in dry.outcomes[0].message
        resumed = generation.run_suite(suite, provider_for(name, server, monkeypatch), out_dir, settings()[0])
    assert resumed.outcomes[0].status == "written" and resumed.outcomes[0].job_id == job.job_id
    assert server.submits == 1  # the resumed run polled the job it had, and paid nothing more
    assert (out_dir / "ads" / "Rain on a roof.mp4").read_bytes() == video


@pytest.mark.parametrize("name", API_PROVIDERS)
def test_every_request_comes_from_the_client_the_provider_names(name, tmp_path, video, monkeypatch):
    """Each provider's submits and polls are sent by its official SDK (its User-Agent), Kling's and Wan's by
    requests; a provider that bypassed its SDK for a plain HTTP call would fail here."""
    suite = make_suite(tmp_path / "suite", ["Who calls"])
    with Loopback(make_protocol(name, video), video) as server:
        summary = generation.run_suite(suite, provider_for(name, server, monkeypatch), tmp_path / "out", settings()[0])
    assert summary.counts == {"written": 1}
    api_calls = [headers for _, path, headers, _ in server.log if not path.startswith("/files/")]
    assert len(api_calls) >= 3  # a submit and at least two polls
    agents = {next((v for k, v in headers.items() if k.lower() == "user-agent"), "") for headers in api_calls}
    assert all(PROTOCOLS[name].client_agent in agent for agent in agents), agents


@pytest.mark.parametrize("name", ["veo", "runway", "replicate", "fal", "seedance"])
def test_missing_sdk_names_the_extra_to_install(name, tmp_path, monkeypatch):
    provider = generation.make_provider(name, Options())
    sdk = "google.genai" if name == "veo" else provider.sdk
    monkeypatch.setitem(__import__("sys").modules, sdk, None)  # as if the SDK were not installed
    for var, value in make_protocol(name, b"").env.items():
        monkeypatch.setenv(var, value)
    suite = make_suite(tmp_path / "suite", ["A"])
    with pytest.raises(Fatal, match=rf"pip install 'avgenbench\[generate-{name}\]'"):
        generation.run(suite, tmp_path / "out", name)
    assert not (tmp_path / "out").exists()  # nothing was started


@pytest.mark.parametrize("name", ["runway", "replicate", "fal", "seedance"])
def test_unreachable_endpoint_is_transient_and_nothing_is_recorded_as_submitted(name, tmp_path, monkeypatch):
    """A refused connection, raised by each SDK in its own way (its wrapper class or httpx's), is a transient fault:
    retried with backoff, then the prompt fails with the reason and no job is in the ledger, so the next run submits
    it (nothing reached the provider)."""
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for var, value in make_protocol(name, b"").env.items():
        monkeypatch.setenv(var, value)
    provider = generation.make_provider(name, Options(), base_url=closed)
    s, sleeps = settings(retries=2)
    summary = generation.run_suite(make_suite(tmp_path / "suite", ["Nobody home"]), provider, tmp_path / "out", s)
    out = summary.outcomes[0]
    assert out.status == "failed" and "gave up after 3 tries" in out.message and "Connect" in out.message, out.message
    assert sleeps == [0.5, 1.0] and L.Ledger(tmp_path / "out").get("ads/Nobody home", name, provider.model) is None


def test_concurrent_jobs_each_submitted_once(tmp_path, video, monkeypatch):
    names = [f"Scene {i}" for i in range(6)]
    suite = make_suite(tmp_path / "suite", names)
    with Loopback(make_protocol("kling", video), video, polls_before_done=2) as server:
        server.faults = {"submit": [429], "poll": [503, 500], "download": ["truncate"]}
        summary = generation.run_suite(suite, provider_for("kling", server, monkeypatch), tmp_path / "out",
                                       settings(concurrency=4)[0])
    assert summary.counts == {"written": 6} and server.submits == 6
    assert len({o.job_id for o in summary.outcomes}) == 6
    assert {j.state for j in L.Ledger(tmp_path / "out").jobs()} == {L.WRITTEN}
    assert all((tmp_path / "out" / "ads" / f"{n}.mp4").read_bytes() == video for n in names)


@pytest.mark.parametrize("name", [n for n in API_PROVIDERS if n != "veo"])
def test_submit_whose_answer_is_lost_is_never_resubmitted(name, tmp_path, video, monkeypatch):
    """A submit that reached the provider but timed out waiting for the answer may have created a billed job:
    it is recorded as failed with that reason, and neither this run nor the next submits it again."""
    monkeypatch.setattr("avgenbench.generation.http.TIMEOUT", (2, 0.3))
    suite = make_suite(tmp_path / "suite", ["Lost answer"])
    with Loopback(make_protocol(name, video), video) as server:
        server.faults["submit"] = ["slow"]
        server.slow_seconds = 0.8
        first = generation.run_suite(suite, provider_for(name, server, monkeypatch), tmp_path / "out", settings()[0])
        time.sleep(0.6)  # let the server finish the slow submit it accepted
        second = generation.run_suite(suite, provider_for(name, server, monkeypatch), tmp_path / "out", settings()[0])
    assert first.outcomes[0].status == "failed" and "may have accepted" in first.outcomes[0].message
    assert second.outcomes[0].status == "failed" and server.submits == 1


def test_poll_that_keeps_failing_leaves_the_job_pending_for_the_next_run(tmp_path, video, monkeypatch):
    suite = make_suite(tmp_path / "suite", ["Thunder"])
    with Loopback(make_protocol("wan", video), video) as server:
        server.faults["poll"] = [503] * 4
        first = generation.run_suite(suite, provider_for("wan", server, monkeypatch), tmp_path / "out", settings(retries=3)[0])
        assert first.outcomes[0].status == "pending" and "gave up after 4 tries" in first.outcomes[0].message
        second = generation.run_suite(suite, provider_for("wan", server, monkeypatch), tmp_path / "out", settings()[0])
    assert second.outcomes[0].status == "written" and server.submits == 1


def test_job_the_provider_lost_is_recorded_failed_but_a_bad_key_keeps_it(tmp_path, video, monkeypatch):
    suite = make_suite(tmp_path / "suite", ["Lost job"])
    out_dir = tmp_path / "out"
    with Loopback(make_protocol("replicate", video), video) as server:
        doomed = provider_for("replicate", server, monkeypatch)
        doomed.poll = lambda job_id: (_ for _ in ()).throw(Crash())
        with pytest.raises(Crash):
            generation.run_suite(suite, doomed, out_dir, settings()[0])
        monkeypatch.setenv("REPLICATE_API_TOKEN", "revoked")
        bad_key = generation.run_suite(suite, provider_for_keeping_env("replicate", server), out_dir, settings()[0])
        assert bad_key.outcomes[0].status == "failed" and "HTTP 401" in bad_key.outcomes[0].message
        assert L.Ledger(out_dir).get("ads/Lost job", "replicate", doomed.model).state == L.SUBMITTED
        server.jobs.clear()  # the provider forgot the job (expired)
        monkeypatch.setenv("REPLICATE_API_TOKEN", SECRET)
        lost = generation.run_suite(suite, provider_for_keeping_env("replicate", server), out_dir, settings()[0])
    assert lost.outcomes[0].status == "failed" and "no longer knows" in lost.outcomes[0].message
    assert L.Ledger(out_dir).get("ads/Lost job", "replicate", doomed.model).state == L.FAILED
    assert server.submits == 1


def provider_for_keeping_env(name: str, server: Loopback):
    p = generation.make_provider(name, Options(), base_url=server.url)
    p.poll_interval = 0.0
    return p


def test_max_cost_and_dry_run_use_the_price_table(tmp_path, video, monkeypatch):
    suite = make_suite(tmp_path / "suite", ["One", "Two", "Three"])
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"kling": {"kling-v2-6": 0.2}}))
    with Loopback(make_protocol("kling", video), video) as server:
        provider = provider_for("kling", server, monkeypatch)
        dry = generation.run_suite(suite, provider, tmp_path / "out", settings(dry_run=True)[0], prices)
        assert dry.counts == {"planned": 3} and dry.planned_cost == pytest.approx(6.0) and server.submits == 0
        assert not (tmp_path / "out").exists()  # a dry run writes nothing, not even the ledger
        capped = generation.run_suite(suite, provider, tmp_path / "out", settings(max_cost=4.5)[0], prices)
        assert capped.counts == {"written": 2, "over_budget": 1} and capped.cost == pytest.approx(4.0)
        assert server.submits == 2 and capped.spent_total == pytest.approx(4.0)
        more = generation.run_suite(suite, provider, tmp_path / "out", settings(max_cost=4.5)[0], prices)
        assert more.counts == {"exists": 2, "over_budget": 1} and server.submits == 2  # the cap spans runs
        unpriced = generation.make_provider("kling", Options(model="kling-v9"), base_url=server.url)
        with pytest.raises(generation.PriceError, match="no price"):
            generation.run_suite(suite, unpriced, tmp_path / "out", settings(max_cost=1.0)[0])


def test_interrupt_stops_submitting_and_polling(tmp_path, video, monkeypatch):
    """Ctrl-C (the runner's stop flag): prompts not yet submitted stay unsubmitted, a job being polled stays
    `submitted` in the ledger for the next run."""
    from avgenbench.generation.runner import Runner

    suite = make_suite(tmp_path / "suite", ["First", "Second"])
    with Loopback(make_protocol("wan", video), video, polls_before_done=100) as server:
        provider = provider_for("wan", server, monkeypatch)
        runner = Runner(suite, provider, tmp_path / "out", settings()[0], generation.load_prices())
        polls = []
        real_poll = provider.poll

        def poll_then_interrupt(job_id):
            polls.append(job_id)
            if len(polls) == 2:
                runner.stop.set()
            return real_poll(job_id)
        provider.poll = poll_then_interrupt
        summary = runner.run()
    assert [o.status for o in summary.outcomes] == ["pending", "pending"] and server.submits == 1
    assert L.Ledger(tmp_path / "out").get("ads/First", "wan", provider.model).state == L.SUBMITTED


def test_missing_key_is_a_clear_error(monkeypatch, tmp_path):
    for var in ("DASHSCOPE_API_KEY", "KLING_ACCESS_KEY", "KLING_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    suite = make_suite(tmp_path / "suite", ["A"])
    with pytest.raises(Fatal, match="DASHSCOPE_API_KEY"):
        generation.run(suite, tmp_path / "out", "wan")
    monkeypatch.setenv("KLING_ACCESS_KEY", "x")
    with pytest.raises(Fatal, match="KLING_SECRET_KEY"):
        generation.run(suite, tmp_path / "out", "kling")
    with pytest.raises(KeyError, match="unknown provider"):
        generation.make_provider("sora")
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # as if the extra were not installed
    with pytest.raises(Fatal, match=r"pip install 'avgenbench\[generate-ltx2\]'"):
        generation.run(suite, tmp_path / "out", "ltx2")


def test_params_reach_the_request(tmp_path, video, monkeypatch):
    suite = make_suite(tmp_path / "suite", ["With seed"])
    seen = []
    with Loopback(make_protocol("seedance", video), video) as server:
        real = server.protocol.prompt_of
        server.protocol.prompt_of = lambda body: seen.append(body) or real(body)
        options = generation.parse_params(["seed=42", "camera_fixed=true", "note=plain text"])
        provider = provider_for("seedance", server, monkeypatch, extra=options)
        assert generation.run_suite(suite, provider, tmp_path / "out", settings()[0]).counts == {"written": 1}
    assert seen[0]["seed"] == 42 and seen[0]["camera_fixed"] is True and seen[0]["note"] == "plain text"


def test_kling_token_is_a_valid_hs256_jwt():
    from avgenbench.generation.providers.kling import kling_token
    from gen_protocols import Kling

    token = kling_token("ak-LOOPBACK-ACCESS-77", KLING_SECRET)
    assert Kling().check_auth({"Authorization": f"Bearer {token}"})
    assert not Kling().check_auth({"Authorization": f"Bearer {kling_token('ak-LOOPBACK-ACCESS-77', 'wrong')}"})
    assert not Kling().check_auth({"Authorization": f"Bearer {kling_token('ak-LOOPBACK-ACCESS-77', KLING_SECRET, now=0)}"})


def test_synthetic_provider_through_the_ledger(tmp_path):
    from avgenbench.suite import demo_suite_path

    suite = load_suite(demo_suite_path())
    item = suite.items[0]
    one = type(suite)(**{**suite.__dict__, "items": [item]}) if hasattr(suite, "__dict__") else suite
    summary = generation.run(one, tmp_path, "synthetic", settings=Settings(concurrency=1))
    assert summary.counts == {"written": 1}
    assert item.expected_video(tmp_path).is_file() and item.expected_video(tmp_path).with_suffix(".truth.json").is_file()
    assert L.Ledger(tmp_path).get(item.key, "synthetic", "spec").state == L.WRITTEN
    assert generation.run(one, tmp_path, "synthetic").counts == {"exists": 1}
    assert DONE == "done"


def test_generate_command_with_an_api_provider(tmp_path, video, monkeypatch):
    """The CLI end to end against the Wan loopback: dry run, a run with one refusal (exit 1), the summary and JSON
    free of the key, then `suite paths` finds every written video where eval will look."""
    from typer.testing import CliRunner

    from avgenbench.cli import app

    suite_dir = tmp_path / "suite"
    make_suite(suite_dir, ["Harbour at dawn", "REFUSEME boat"])
    out_dir = tmp_path / "videos"
    with Loopback(make_protocol("wan", video), video) as server:
        monkeypatch.setenv("DASHSCOPE_API_KEY", SECRET)
        monkeypatch.setenv("DASHSCOPE_BASE_URL", server.url)
        monkeypatch.setattr("avgenbench.generation.providers.wan.WanProvider.poll_interval", 0.0)
        base = ["generate", str(out_dir), "--suite", str(suite_dir), "--provider", "wan"]
        assert CliRunner().invoke(app, base + ["--param", "novalue"]).exit_code == 2
        dry = CliRunner().invoke(app, base + ["--dry-run", "--json", "--param", "seed=7"])
        assert dry.exit_code == 0 and json.loads(dry.stdout)["planned_cost_usd"] == pytest.approx(2.0)
        assert server.submits == 0
        shown = CliRunner().invoke(app, base)
        assert shown.exit_code == 1 and server.submits == 2
        assert "refused" in shown.stdout and "DataInspectionFailed" in shown.stdout and SECRET not in shown.output
        again = CliRunner().invoke(app, base + ["--json"])
        assert json.loads(again.stdout)["counts"] == {"exists": 1, "refused": 1} and server.submits == 2
    assert SECRET not in again.stdout
    paths = CliRunner().invoke(app, ["suite", "paths", str(suite_dir), "--videos", str(out_dir), "--json"])
    found = {e["key"]: e["found"] for e in json.loads(paths.stdout)["entries"]}
    assert found["ads/Harbour at dawn"] and found["ads/REFUSEME boat"] is None
    assert json.loads(paths.stdout)["strays"] == [] and json.loads(paths.stdout)["found"] == 1


def test_generate_then_eval_reads_the_folder(tmp_path, monkeypatch):
    """generate -> eval straight after: the written video is evaluated, the refused prompt is a missing video."""
    from typer.testing import CliRunner

    from avgenbench.cli import app
    from clipmaker import make_clip

    real = make_clip(tmp_path / "served.mp4", duration=2.0).read_bytes()
    suite_dir = tmp_path / "suite"
    make_suite(suite_dir, ["Good one", "REFUSEME one"])
    with Loopback(make_protocol("kling", real), real) as server:
        monkeypatch.setenv("KLING_BASE_URL", server.url)
        for var, value in make_protocol("kling", real).env.items():
            monkeypatch.setenv(var, value)
        monkeypatch.setattr("avgenbench.generation.providers.kling.KlingProvider.poll_interval", 0.0)
        gen = CliRunner().invoke(app, ["generate", str(tmp_path / "videos"), "--suite", str(suite_dir), "--provider",
                                       "kling", "--json"])
    assert gen.exit_code == 1 and json.loads(gen.stdout)["counts"] == {"written": 1, "refused": 1}
    ev = CliRunner().invoke(app, ["eval", str(tmp_path / "videos"), "--suite", str(suite_dir), "--out",
                                  str(tmp_path / "results"), "--dimensions", "vis", "--json"])
    assert ev.exit_code == 0, ev.output
    rows = json.loads(CliRunner().invoke(app, ["results", str(tmp_path / "results"), "--json"]).stdout)
    status = {(r["content"], r["dimension"]): r["status"] for r in rows}
    assert status[("Good one", "vis")] == "ok" and status[("REFUSEME one", "vis")] == "missing_video"
