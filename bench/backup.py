"""Backup throughput (A9, issue #15): borg create against ``tar | zstd`` of the same data.

    .venv/bin/python bench/backup.py [--megabytes 200] [--compression zstd,3]

Generates a bounded data set in a temporary folder (a few large files, half random bytes
and half text, and thousands of small text and binary files, like /etc, mail stores and
database dumps), then, in the same run and on the same data:

- the anchor: ``tar -cf - . | zstd -q -3`` into one file, and its restore
  ``zstd -dc | tar -xf -``;
- ``borg init --encryption repokey-blake2`` of a local repository, ``borg create
  --compression zstd,3`` (the backup role's backup_compression) of the data, and
  ``borg extract`` of the archive into an empty folder (the restore a drill measures);

then the next night (5 % of the small files rewritten, one large file grown): both again
on the whole data set (tar copies it all, borg reads only what changed and stores only
new chunks). Prints each time, the throughput in MB/s of the data set and borg's ratios
to the anchor (goal >= 0.8 for create). Needs borgbackup and zstd on this machine (./run
setup installs them). Nothing is asserted: the figures are printed for docs/backup.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: A step longer than this is stopped (a bench never waits without end).
STEP_TIMEOUT = 1800.0
#: Part of the data set in large files; the rest is small files.
LARGE_SHARE = 0.5
LARGE_FILE_MB = 25
SMALL_FILE_BYTES = (512, 16_384)
#: Share of the small files a night rewrites (the incremental run).
CHANGED_SHARE = 0.05
WORDS = [
    "telework",
    "administration",
    "directory",
    "mailbox",
    "calendar",
    "backup",
    "restore",
    "archive",
    "amina",
    "youssef",
    "khadija",
    "omar",
    "salma",
    "hicham",
    "nadia",
    "karim",
    "rabat",
    "casablanca",
    "fes",
    "dn:",
    "uid=",
    "ou=people",
    "dc=lab",
    "objectClass",
    "inetOrgPerson",
    "mail",
    "From:",
    "Subject:",
    "Date:",
]


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: float
    megabytes: float

    @property
    def rate(self) -> float:
        return self.megabytes / self.seconds if self.seconds > 0 else 0.0


def text_block(rng: random.Random, size: int) -> bytes:
    """``size`` bytes of word soup: text that compresses like configuration and mail."""
    out: list[str] = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) + "\n"
        out.append(line)
        length += len(line)
    return "".join(out).encode()[:size]


def plan_files(total_bytes: int, seed: int = 15) -> list[tuple[str, int, bool]]:
    """(relative path, size, random bytes?) of the data set: LARGE_SHARE in large files
    (every other one random), the rest in small files (one in four random), spread over
    folders of at most 200 files."""
    rng = random.Random(seed)
    files: list[tuple[str, int, bool]] = []
    large_total = int(total_bytes * LARGE_SHARE)
    large = LARGE_FILE_MB * 1024 * 1024
    count = 0
    while large_total > 0:
        size = min(large, large_total)
        files.append((f"large/dump-{count:02d}.bin", size, count % 2 == 0))
        large_total -= size
        count += 1
    small_total = total_bytes - int(total_bytes * LARGE_SHARE)
    index = 0
    while small_total > 0:
        size = min(rng.randint(*SMALL_FILE_BYTES), small_total)
        files.append((f"small/{index // 200:04d}/file-{index:06d}.txt", size, index % 4 == 0))
        small_total -= size
        index += 1
    return files


def generate(folder: Path, total_bytes: int, seed: int = 15) -> tuple[int, int]:
    """Write the data set under ``folder``; (files, bytes) written."""
    rng = random.Random(seed)
    written = 0
    files = plan_files(total_bytes, seed)
    for rel, size, binary in files:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size) if binary else text_block(rng, size))
        written += size
    return len(files), written


def change_some(folder: Path, share: float, seed: int = 16) -> int:
    """Rewrite ``share`` of the small files and append to one large file (a night's work
    on a server: mail delivered, configuration edited, a database grown); the files
    changed."""
    rng = random.Random(seed)
    small = sorted((folder / "small").rglob("*.txt"))
    chosen = rng.sample(small, max(1, int(len(small) * share)))
    for path in chosen:
        path.write_bytes(text_block(rng, rng.randint(*SMALL_FILE_BYTES)))
    with (folder / "large" / "dump-01.bin").open("ab") as grown:
        grown.write(text_block(rng, 1024 * 1024))
    return len(chosen) + 1


def timed(label: str, megabytes: float, argv: list[str], **kwargs: object) -> Timing:
    """Run ``argv`` (a list; ``shell`` is never used) and time it."""
    start = time.monotonic()
    subprocess.run(argv, check=True, timeout=STEP_TIMEOUT, **kwargs)  # type: ignore[call-overload]
    return Timing(label, time.monotonic() - start, megabytes)


def timed_pipe(label: str, megabytes: float, first: list[str], second: list[str]) -> Timing:
    """``first | second``, timed until both end."""
    start = time.monotonic()
    producer = subprocess.Popen(first, stdout=subprocess.PIPE)
    try:
        consumer = subprocess.run(second, stdin=producer.stdout, check=True, timeout=STEP_TIMEOUT)
    finally:
        if producer.stdout is not None:
            producer.stdout.close()
        rc = producer.wait(timeout=STEP_TIMEOUT)
    if rc != 0 or consumer.returncode != 0:
        raise RuntimeError(f"{label}: exit {rc}/{consumer.returncode}")
    return Timing(label, time.monotonic() - start, megabytes)


def measure(work: Path, megabytes: int, compression: str) -> list[Timing]:
    data = work / "data"
    data.mkdir()
    files, size = generate(data, megabytes * 1024 * 1024)
    mb = size / 1_000_000
    print(f"data set: {files} files, {mb:.1f} MB (decimal) in {data}")
    archive = work / "data.tar.zst"

    def anchor(label: str) -> Timing:
        return timed_pipe(
            label,
            mb,
            ["tar", "-C", str(data), "-cf", "-", "."],
            ["zstd", "-q", "-3", "-o", str(archive)],
        )

    def borg_create(label: str, name: str) -> Timing:
        argv = ["borg", "create", "--compression", compression, f"{repo}::{name}", "."]
        return timed(label, mb, argv, cwd=data, env=env)

    timings = [anchor("tar | zstd -3 (anchor)")]
    env = {
        **os.environ,
        "BORG_PASSPHRASE": "bench-only-passphrase",
        "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "no",
    }
    env["BORG_BASE_DIR"] = str(work / "borg-home")
    repo = work / "repo"
    subprocess.run(
        ["borg", "init", "--encryption", "repokey-blake2", str(repo)],
        check=True,
        timeout=STEP_TIMEOUT,
        env=env,
        capture_output=True,
    )
    timings.append(borg_create(f"borg create --compression {compression}", "bench"))
    restore_tar, restore_borg = work / "restore-tar", work / "restore-borg"
    restore_tar.mkdir()
    restore_borg.mkdir()
    timings.append(
        timed_pipe(
            "zstd -d | tar -x (anchor)",
            mb,
            ["zstd", "-q", "-dc", str(archive)],
            ["tar", "-C", str(restore_tar), "-xf", "-"],
        )
    )
    timings.append(
        timed("borg extract", mb, ["borg", "extract", f"{repo}::bench"], cwd=restore_borg, env=env)
    )
    # The next night: a few files changed, a few added. tar | zstd copies everything again,
    # borg reads only the changed files (its files cache) and stores only new chunks.
    changed = change_some(data, CHANGED_SHARE)
    archive.unlink()
    timings.append(anchor("next night: tar | zstd -3 (anchor)"))
    timings.append(borg_create(f"next night: borg create ({changed} files changed)", "bench-2"))
    print(
        f"sizes: tar.zst {archive.stat().st_size / 1e6:.1f} MB, borg repository "
        f"{sum(p.stat().st_size for p in repo.rglob('*') if p.is_file()) / 1e6:.1f} MB"
    )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=200, help="Size of the data set (MiB).")
    parser.add_argument(
        "--compression",
        default="zstd,3",
        help="borg --compression (default: the backup role's backup_compression, zstd,3).",
    )
    parser.add_argument("--dir", type=Path, help="Work folder (default: a temporary one).")
    args = parser.parse_args()
    if not 1 <= args.megabytes <= 4096:
        parser.error("--megabytes: 1 to 4096")
    for tool in ("borg", "zstd", "tar"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: ./run setup installs borgbackup and zstd")
    with tempfile.TemporaryDirectory(prefix="bench-backup-", dir=args.dir) as tmp:
        timings = measure(Path(tmp), args.megabytes, args.compression)
    for t in timings:
        print(f"{t.label:38s} {t.seconds:7.2f} s  {t.rate:7.1f} MB/s")
    anchor, borg, anchor_restore, extract, night_anchor, night = timings
    print(
        f"create ratio borg / tar|zstd (first, full): {borg.rate / anchor.rate:.2f} (goal >= 0.8)"
    )
    print(f"restore ratio borg extract / zstd|tar: {extract.rate / anchor_restore.rate:.2f}")
    print(
        "create ratio borg / tar|zstd (next night, same data set, "
        f"{CHANGED_SHARE:.0%} of small files changed): {night.rate / night_anchor.rate:.2f}"
    )


if __name__ == "__main__":
    main()
