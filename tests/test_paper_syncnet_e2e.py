"""Lip's paper model end to end on CPU: `setup paper` builds the syncnet environment (syncnet-python from PyPI,
torch's CPU build, ffmpeg from imageio-ffmpeg), the real S3FD and SyncNet networks are saved with random weights in the
real file layout, and a clip runs through the package's whole pipeline (frames, face detection, scene cuts, tracking,
crops, SyncNet at ±15 frame shifts) in the worker. The detector's heads are set so that it finds a face everywhere
(random weights find none), so tracks reach SyncNet; its random features make no track confident, and the stored value
must be our reduction of the tracks it reports. The real weights are not checked here.

Packages come from the index (pip's own configuration) or from AVGENBENCH_PAPER_WHEELHOUSE (with --no-index).
"""

from __future__ import annotations

import pytest

from avgenbench.paper_workers.syncnet import MAX_SHIFT, lip_offset
from clipmaker import make_clip
from conftest import ready_paper_env, run_in_env

pytestmark = pytest.mark.slow
ENV = "syncnet"

RANDOM_WEIGHTS = """
import sys, torch
from pathlib import Path
from syncnet_python import SyncNetModel
from syncnet_python.detectors.s3fd.nets import S3FDNet
torch.manual_seed(0)
folder = Path(sys.argv[1])
torch.save(SyncNetModel().state_dict(), folder / "syncnet_v2.model")
detector = S3FDNet(device="cpu")
with torch.no_grad():  # boxes = the priors; one head (64 px priors) says "face" with certainty, the others never
    for i, (loc, conf) in enumerate(zip(detector.loc, detector.conf)):
        loc.weight.zero_(); loc.bias.zero_(); conf.weight.zero_(); conf.bias.zero_()
        conf.bias[-1] = 10.0 if i == 2 else -10.0
torch.save(detector.state_dict(), folder / "sfd_face.pth")
"""


@pytest.fixture(scope="module")
def ready_env(tmp_path_factory):
    yield from ready_paper_env(tmp_path_factory, ENV, lambda python, folder: run_in_env(python, RANDOM_WEIGHTS, folder))


def test_a_clip_runs_through_the_whole_syncnet_pipeline_and_its_tracks_are_reduced_by_our_rule(ready_env, tmp_path):
    from avgenbench.annotations import PromptAnnotation
    from avgenbench.dimensions.base import ItemContext
    from avgenbench.dimensions.lip import LipSyncNetPaper
    from avgenbench.media import decode
    from avgenbench.suite import PromptItem

    backend = LipSyncNetPaper()
    assert backend.unavailable_reason({}) is None
    clip = decode(make_clip(tmp_path / "talk.mp4", duration=2.6, fps=25, width=320, height=240), backend.needs())
    ctx = ItemContext(PromptItem("ads", 0, "talk", "a person talks"), PromptAnnotation(), "paper", {"device": "cpu"})
    try:
        measured = backend.measure(clip, ctx)
    finally:
        backend.close()
    tracks = measured.evidence.get("tracks")
    assert tracks, (measured.status, measured.message)  # the detector's faces became tracks that SyncNet scored
    assert all(-MAX_SHIFT <= t["offset"] <= MAX_SHIFT for t in tracks)
    expected = lip_offset([t["offset"] for t in tracks], [t["confidence"] for t in tracks])
    assert measured.status == expected.status and measured.raw == expected.raw
    assert measured.evidence["confident_tracks"] == expected.confident
