"""An out-of-process backend for the tests: mean brightness of the frames it is handed (or a crash on request)."""

import sys

from avgenbench.dimensions.base import Backend, Measurement, Status
from avgenbench.media import FrameSpec
from avgenbench.worker import serve

SPEC = FrameSpec(2, 64, gray=True)


class Brightness(Backend):
    name = "brightness-worker"
    version = "1"
    tier = "paper"

    def measure(self, clip, ctx):
        print("noise on stdout must not break the protocol")
        if ctx.options.get("crash"):
            sys.exit(3)
        images = clip.frames_for(SPEC).images
        return Measurement(Status.OK, float(images.mean()) / 255.0, {"frames": len(images), "prompt": ctx.item.prompt})


if __name__ == "__main__":
    serve(Brightness())
