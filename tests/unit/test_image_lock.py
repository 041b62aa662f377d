"""One build of a release's lab image at a time on the machine (toolkit/lab/image.py): the
suite's two lanes, or a lab brought up during a run, may ask for the same image at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from toolkit.errors import ToolkitError
from toolkit.lab import image

#: Another process takes the lock the way build_lock does, says so, and keeps it.
HOLDER = """\
import fcntl, os, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.truncate(0)
handle.write(f"{os.getpid()}\\n")
handle.flush()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    """A process holding the bookworm build lock until killed."""
    path = image.lock_file("bookworm")
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield proc
    proc.kill()
    proc.wait(timeout=10)


class FakePodman:
    """The image store of a machine where no image exists yet; a build tags one."""

    images: ClassVar[dict[str, dict[str, str]]] = {}

    def image_labels(self, ref: str) -> dict[str, str] | None:
        return self.images.get(ref)


def test_a_build_waits_only_so_long_for_another_process_then_names_it(
    holder: subprocess.Popen[str],
) -> None:
    started = time.monotonic()
    with pytest.raises(ToolkitError) as caught, image.build_lock("bookworm", wait=0.5, poll=0.05):
        pass
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert f"still being built by process {holder.pid} after 0 s" in message
    assert str(image.lock_file("bookworm")) in message


def test_the_lock_is_taken_as_soon_as_its_holder_dies_even_killed(
    holder: subprocess.Popen[str],
) -> None:
    threading.Timer(0.3, os.kill, (holder.pid, signal.SIGKILL)).start()
    steps: list[str] = []
    with image.build_lock("bookworm", wait=30, poll=0.05, step=steps.append) as waited:
        assert waited
        assert image.lock_file("bookworm").read_text() == f"{os.getpid()}\n"
    assert steps == [f"waiting for process {holder.pid}, building the image of Debian bookworm"]


def test_builds_of_two_releases_do_not_wait_on_each_other(
    holder: subprocess.Popen[str],
) -> None:
    with image.build_lock("trixie", wait=0.5, poll=0.05) as waited:
        assert not waited


def test_two_builds_of_one_image_at_once_build_it_once_and_both_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakePodman.images = {}
    built: list[str] = []
    recipe = image.Recipe("bookworm")

    def build(podman: FakePodman, recipe: image.Recipe, labels: object, step: object) -> None:
        built.append(recipe.release)
        time.sleep(1.5)  # the other caller meanwhile finds the lock taken
        podman.images[recipe.ref] = {image.RECIPE_LABEL: recipe.digest}

    monkeypatch.setattr(image, "Podman", FakePodman)
    monkeypatch.setattr(image, "_build", build)
    monkeypatch.setattr("toolkit.lab.image.os.geteuid", lambda: 0)
    refs: list[str] = []
    callers = [threading.Thread(target=lambda: refs.append(image.build_image("bookworm")))]
    callers.append(
        threading.Thread(target=lambda: refs.append(image.build_image("bookworm", force=True)))
    )
    for caller in callers:
        caller.start()
        time.sleep(0.2)
    for caller in callers:
        caller.join(timeout=30)
    assert built == ["bookworm"]
    assert refs == [recipe.ref, recipe.ref]
    assert image.lock_file("bookworm").read_text() == ""
