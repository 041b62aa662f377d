"""Debian base images for the lab and the Molecule scenarios, built locally (no registry
can be reached): debootstrap into a folder, ``podman import``, upgrade with the updates
and security suites, commit. An image is labelled with a digest of its recipe and is
rebuilt only when the recipe changes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
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


def build_image(
    release: str, *, force: bool = False, step: Callable[[str], None] = lambda _msg: None
) -> str:
    """Build the image of ``release`` unless one with the same recipe exists; its name."""
    podman = Podman()
    recipe = Recipe(release)
    ref = recipe.ref
    labels = podman.image_labels(ref)
    if labels is not None and labels.get(RECIPE_LABEL) == recipe.digest and not force:
        log.info("image %s is up to date (recipe %s)", ref, recipe.digest)
        return ref
    if os.geteuid() != 0:
        raise ToolkitError("building a lab image needs root (debootstrap, chroot)")
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
    return ref
