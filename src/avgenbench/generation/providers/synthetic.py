"""The synthetic provider behind the submit/poll/download interface: `submit` renders the prompt's clip spec into
OUT/.staging/<job id>.mp4 (with its truth sidecar), `poll` finds it there, `download` moves it into place."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from ...suite import PromptItem
from ..base import DONE, FAILED, Poll, Provider, Unsupported


class SyntheticProvider(Provider):
    name = "synthetic"
    default_model = "spec"
    poll_interval = 0.0
    max_concurrency = 1

    def supports(self, item: PromptItem) -> bool:
        return isinstance(item.extra.get("synthetic"), dict)

    def submit(self, item: PromptItem) -> str:
        from ...synthetic.generator import render

        if not self.supports(item):
            raise Unsupported(f"{item.key} carries no 'synthetic' clip spec")
        job_id = uuid.uuid4().hex
        self.staging.mkdir(parents=True, exist_ok=True)
        render(item.extra["synthetic"], self.staging / f"{job_id}.mp4")
        return job_id

    def poll(self, job_id: str) -> Poll:
        found = self.staging / f"{job_id}.mp4"
        if not found.is_file():
            return Poll(FAILED, reason=f"rendered file for job {job_id} is gone")
        return Poll(DONE, url=str(found))

    def download(self, poll: Poll, dest: Path) -> None:
        src = Path(poll.url)
        for extra in src.parent.glob(src.stem + ".*"):
            if extra != src:
                shutil.move(str(extra), dest.with_name(dest.stem + extra.name[len(src.stem):]))
        shutil.move(str(src), dest)
