"""Debian base images for the lab and the Molecule scenarios, built locally (no registry
can be reached): debootstrap into a folder, ``podman import``, upgrade with the updates
and security suites, commit. An image is labelled with a digest of its recipe and is
rebuilt only when the recipe changes. One build of a release at a time on the machine (a
file lock): the suite's two lanes, or a lab brought up during a test run, may ask for the
same image at once; the one that waits uses the image the other built."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from toolkit.adapters.podman import Podman
from toolkit.adapters.process import run
from toolkit.errors import ExternalCommandError, ToolkitError
from toolkit.paths import cache_dir

log = logging.getLogger(__name__)

RELEASES = {"bookworm": "12", "trixie": "13"}
ADMIN_USER = "admin"
ADMIN_UID = 1000
RECIPE_LABEL = "io.telework.recipe"
#: How long a build waits for another process building the same release's image: a build
#: takes minutes, but its own steps may take up to 80 (their timeouts added up).
BUILD_LOCK_WAIT = 4900.0

PACKAGES = (
    "python3",
    "python3-apt",
    "sudo",
    "systemd",
    "systemd-sysv",
    "dbus",
    "ca-certificates",
    "iproute2",
    "procps",
    "iputils-ping",
    "curl",
    "gnupg",
    "openssh-server",
    "nftables",
    "less",
    "netbase",
)
# Units that race dpkg or need the host's devices; they have no use in a container.
MASKED_UNITS = (
    "getty@.service",
    "console-getty.service",
    "getty.target",
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "systemd-firstboot.service",
    "e2scrub_reap.service",
)
SSHD_LAB_CONF = f"""\
# telework lab: {ADMIN_USER} logs in with its key only. Each host has its own ed25519 key,
# made by `toolkit lab up` and pinned in the lab's known_hosts.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
"""
#: In a container on this kernel's hybrid cgroup layout systemd is never told that a
#: cgroup emptied, so stopping a user's manager after their last logout waits for its
#: 2-minute timeout, and every login meanwhile hangs in pam_systemd (seen on hosts where
#: logind runs, e.g. with D-Bus installed). The lab keeps each user's manager running.
LOGIND_LAB_CONF = """\
# telework lab: keep user managers after logout (a container never reports their cgroup
# empty, so stopping one hangs every login for two minutes).
[Login]
UserStopDelaySec=infinity
"""
#: Lab and test containers see the machine-wide apt cache through an overlay (their own
#: lock and downloads on top, so installs never wait on each other) and give back what they
#: downloaded through a second, writable mount of it, one atomic rename a package.
APT_POOL = "/var/cache/telework-apt-pool"
APT_POOL_HOOK = f"""\
#!/bin/sh
# telework lab: share the packages apt downloaded with the other lab and test containers.
pool={APT_POOL}
[ -d "$pool" ] && [ -w "$pool" ] || exit 0
for deb in /var/cache/apt/archives/*.deb; do
  [ -f "$deb" ] || continue
  name=${{deb##*/}}
  [ -e "$pool/$name" ] && continue
  if cp "$deb" "$pool/.$name.$$"; then mv -f "$pool/.$name.$$" "$pool/$name"; fi
  rm -f "$pool/.$name.$$"
done
exit 0
"""
APT_POOL_CONF = 'DPkg::Post-Invoke { "/usr/local/sbin/telework-apt-pool || true"; };\n'
UPGRADE_SCRIPT = """\
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get -y -q -o Dpkg::Options::=--force-confold dist-upgrade
rm -rf /var/lib/apt/lists/*
mkdir -p /var/lib/apt/lists/partial
touch -d @0 /var/lib/apt/lists
"""


def sources(release: str) -> str:
    return (
        "Types: deb\nURIs: http://deb.debian.org/debian\n"
        f"Suites: {release} {release}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian-security\n"
        f"Suites: {release}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


@dataclass(frozen=True)
class Recipe:
    """Everything that decides an image's content; its digest labels the image."""

    release: str
    packages: tuple[str, ...] = PACKAGES
    masked: tuple[str, ...] = MASKED_UNITS
    sshd: str = SSHD_LAB_CONF
    logind: str = LOGIND_LAB_CONF
    upgrade: str = UPGRADE_SCRIPT
    apt_pool_hook: str = APT_POOL_HOOK
    apt_pool_conf: str = APT_POOL_CONF
    revision: int = 4

    @property
    def digest(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def ref(self) -> str:
        return image_ref(self.release)


def image_ref(release: str) -> str:
    """Name of the lab image of a Debian release (``localhost/telework-debian:12``)."""
    if release not in RELEASES:
        raise ToolkitError(f"unknown Debian release {release!r} (known: {', '.join(RELEASES)})")
    return f"localhost/telework-debian:{RELEASES[release]}"


def apt_cache(release: str) -> Path:
    """Host folder of the apt packages shared by every container of a release."""
    path = cache_dir() / "apt" / release
    (path / "partial").mkdir(parents=True, exist_ok=True)
    return path


def apt_cache_volumes(release: str) -> list[str]:
    """podman --volume values that share the apt cache with a container: an overlay at
    /var/cache/apt/archives (reads shared, writes and lock its own) and the pool the
    image's dpkg hook gives new packages back to."""
    cache = apt_cache(release)
    return [f"{cache}:/var/cache/apt/archives:O", f"{cache}:{APT_POOL}"]


def _configure_rootfs(root: Path, recipe: Recipe) -> None:
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()  # debootstrap leaves its packages there; the host cache keeps them
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    (root / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list.d/debian.sources").write_text(sources(recipe.release))
    (root / "etc/machine-id").write_text("")  # each container gets its own
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (root / "etc/hostname").unlink(missing_ok=True)
    run(["systemctl", f"--root={root}", "mask", *recipe.masked])
    # sudo with a password that `toolkit lab up` sets per lab: no blanket NOPASSWD (LNX-11)
    run(
        [
            "chroot",
            str(root),
            "useradd",
            "--create-home",
            "--shell",
            "/bin/bash",
            "--uid",
            str(ADMIN_UID),
            "--groups",
            "sudo",
            "--password",
            "*",
            ADMIN_USER,
        ]
    )
    ssh_dir = root / "home" / ADMIN_USER / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    os.chown(ssh_dir, ADMIN_UID, ADMIN_UID)
    (root / "etc/ssh/sshd_config.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/ssh/sshd_config.d/00-lab.conf").write_text(recipe.sshd)
    (root / "etc/systemd/logind.conf.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/systemd/logind.conf.d/00-lab.conf").write_text(recipe.logind)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    hook = root / "usr/local/sbin/telework-apt-pool"
    hook.write_text(recipe.apt_pool_hook)
    hook.chmod(0o755)
    (root / "etc/apt/apt.conf.d/90telework-apt-pool").write_text(recipe.apt_pool_conf)
    ping = root / "usr/bin/ping"
    if ping.exists() and shutil.which("setcap"):
        run(["setcap", "-r", str(ping)], check=False)  # podman drops NET_RAW


def _import(podman: Podman, root: Path, ref: str) -> None:
    with subprocess.Popen(
        ["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
    ) as tar:
        if tar.stdout is None:  # pragma: no cover (stdout=PIPE always gives one)
            raise ExternalCommandError("tar gave no output pipe")
        try:
            proc = subprocess.run(
                ["podman", "import", "-", ref],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                timeout=600,
                env=podman.env,
                check=False,
            )
        finally:
            tar.stdout.close()
        tar.wait(timeout=60)
    if proc.returncode != 0 or tar.returncode != 0:
        raise ExternalCommandError(f"podman import {ref} failed: {proc.stderr.strip()[-300:]}")


def lock_file(release: str) -> Path:
    """The file whose ``flock`` one build of ``release``'s image holds (under the cache
    folder, which every checkout and test lane of the machine shares)."""
    return cache_dir() / "locks" / f"image-{release}.lock"


@contextlib.contextmanager
def build_lock(
    release: str,
    *,
    wait: float = BUILD_LOCK_WAIT,
    poll: float = 1.0,
    step: Callable[[str], None] = lambda _msg: None,
) -> Iterator[bool]:
    """Hold the lock of ``release``'s image build (released when the holder exits, even
    killed); wait at most ``wait`` seconds for another holder, then fail naming it. Yields
    whether it had to wait (another process may have built the image meanwhile)."""
    path = lock_file(release)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + wait
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if time.monotonic() >= deadline:
                    raise ToolkitError(
                        f"the image of Debian {release} is still being built by {holder} "
                        f"after {wait:.0f} s (lock {path}); wait for it or stop it"
                    ) from None
                if not waited:
                    step(f"waiting for {holder}, building the image of Debian {release}")
                    log.info("waiting for %s to build %s (lock %s)", holder, release, path)
                    waited = True
                time.sleep(poll)
        try:
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield waited
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    """Who holds a build lock, as its file says (the process id its holder wrote)."""
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def _up_to_date(recipe: Recipe, labels: dict[str, str] | None) -> bool:
    return labels is not None and labels.get(RECIPE_LABEL) == recipe.digest


def build_image(
    release: str, *, force: bool = False, step: Callable[[str], None] = lambda _msg: None
) -> str:
    """Build the image of ``release`` unless one with the same recipe exists; its name.
    Builds of a release run one at a time (:func:`build_lock`): a caller that waited for
    another's build uses the image it made (even with ``force``) instead of building again."""
    podman = Podman()
    recipe = Recipe(release)
    ref = recipe.ref
    if not force and _up_to_date(recipe, podman.image_labels(ref)):
        log.info("image %s is up to date (recipe %s)", ref, recipe.digest)
        return ref
    if os.geteuid() != 0:
        raise ToolkitError("building a lab image needs root (debootstrap, chroot)")
    with build_lock(release, step=step) as waited:
        labels = podman.image_labels(ref)
        if (waited or not force) and _up_to_date(recipe, labels):
            log.info("image %s was built meanwhile by another process", ref)
            return ref
        _build(podman, recipe, labels, step)
    return ref


def _build(
    podman: Podman, recipe: Recipe, labels: dict[str, str] | None, step: Callable[[str], None]
) -> None:
    """debootstrap, configure, import, upgrade and commit ``recipe``'s image (the caller
    holds the build lock); ``labels``: those of the image it replaces, if any."""
    release, ref = recipe.release, recipe.ref
    stage, builder = f"{ref}-stage", f"telework-image-build-{release}"
    debs = cache_dir() / "debootstrap" / release
    debs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"telework-rootfs-{release}-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        step(f"debootstrap {release} (about a minute)")
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(recipe.packages)}",
                f"--cache-dir={debs}",
                release,
                str(root),
            ],
            timeout=1800,
        )
        step("configuring the root file system")
        _configure_rootfs(root, recipe)
        step(f"importing into podman as {stage}")
        _import(podman, root, stage)
    try:
        podman("rm", "--force", builder, check=False)
        step(f"upgrading {release} from its updates and security suites")
        podman(
            "run",
            "--name",
            builder,
            "--network",
            "podman",
            "--volume",
            f"{apt_cache(release)}:/var/cache/apt/archives",
            stage,
            "/bin/sh",
            "-c",
            recipe.upgrade,
            timeout=1800,
        )
        step(f"committing {ref}")
        podman(
            "commit",
            "--quiet",
            "--change",
            'CMD ["/sbin/init"]',
            "--change",
            "STOPSIGNAL SIGRTMIN+3",
            "--change",
            f"LABEL {RECIPE_LABEL}={recipe.digest}",
            "--change",
            f"LABEL io.telework.release={release}",
            builder,
            ref,
            timeout=600,
        )
    finally:
        podman("rm", "--force", builder, check=False)
        podman("rmi", "--force", stage, check=False)
    if labels is not None:
        # the previous build of this release is now untagged: drop it unless still in use
        podman("image", "prune", "--force", "--filter", f"label={RECIPE_LABEL}", check=False)
    log.info("built %s (recipe %s)", ref, recipe.digest)
