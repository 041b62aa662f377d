"""LOG-02 on a real PostgreSQL and on canned answers.

The real server is Debian's PostgreSQL (package postgresql, installed by ./run setup): a
cluster made by initdb in a folder of this test, owned by ``nobody``, on a free port of
127.0.0.1 and its own socket folder, stopped at the end. The control runs through
testinfra's local backend, so it finds the postmaster, reads postmaster.pid and asks
pg_settings with psql exactly as it does on an audited host (as root: the audit's sudo is
empty here)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import testinfra

from tests.audit.conftest import Answer, fake_context, params
from tests.ports import free_port
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import database

IMPL = implementations()
#: Bounds of the server's start and stop (pg_ctl -t) and of any command here.
PG_WAIT = 20
OWNER = "nobody"
LOGGED = (
    "-c log_connections=on -c log_disconnections=on -c log_statement=ddl "
    "-c log_line_prefix='%m [%p] %q%u@%d from %h '"
)


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", OWNER, "--", *argv],
        capture_output=True,
        text=True,
        timeout=PG_WAIT + 10,
        check=False,
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    """A data folder made by initdb, owned by nobody (removed at the end)."""
    bindir = _bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql, ./run setup)")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("the server runs as nobody, which needs root and runuser")
    top = Path(tempfile.mkdtemp(prefix="log02-"))
    try:
        os.chown(top, 65534, 65534)
        top.chmod(0o700)
        result = _as_owner(str(bindir / "initdb"), "-D", str(top / "data"), "-A", "trust")
        assert result.returncode == 0, result.stderr
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


@contextmanager
def running(top: Path, options: str = "") -> Iterator[int]:
    """The cluster started on a free port of 127.0.0.1 with ``options``; stopped after."""
    bindir = _bin()
    assert bindir is not None
    port = free_port()
    server = f"-p {port} -c listen_addresses=127.0.0.1 -k {top} {options}".strip()
    pg_ctl = str(bindir / "pg_ctl")
    data = str(top / "data")
    started = _as_owner(
        pg_ctl, "-D", data, "-o", server, "-l", str(top / "server.log"),
        "-w", "-t", str(PG_WAIT), "start",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr + (top / "server.log").read_text()
    try:
        yield port
    finally:
        _as_owner(pg_ctl, "-D", data, "-m", "fast", "-w", "-t", str(PG_WAIT), "stop")


def local_context() -> Context:
    ctx = fake_context({})
    ctx.host = testinfra.get_host("local://")
    ctx.sudo = ""  # already root
    return ctx


def real(catalogue: Catalogue, top: Path) -> Outcome:
    only = {"data_directories": [str(top / "data")]}
    return IMPL["LOG-02"].check(local_context(), params(catalogue, "LOG-02", **only))


def test_log02_a_real_postgresql_with_default_settings_fails_on_each_setting(
    catalogue: Catalogue, cluster: Path
) -> None:
    with running(cluster) as port:
        outcome = real(catalogue, cluster)
    label = f"port {port} ({cluster}/data)"
    assert outcome.status is Status.FAIL
    assert outcome.summary.split("; ") == [
        f"{label}: log_connections = off",
        f"{label}: log_disconnections = off",
        f"{label}: log_statement = none, DDL not logged (needs ddl or mod or all)",
    ]
    assert outcome.details == [
        f"{label}: log_line_prefix '%m [%p] ' lacks the user, database, client"
    ]


def test_log02_a_real_postgresql_logging_connections_and_ddl_with_who_passes(
    catalogue: Catalogue, cluster: Path
) -> None:
    with running(cluster, LOGGED):
        outcome = real(catalogue, cluster)
    assert outcome.status is Status.PASS, outcome.summary
    assert outcome.summary == "1 PostgreSQL servers log connections, disconnections and DDL"


# --- canned answers -----------------------------------------------------------------------

CLUSTER = "cluster\t812\tpostgres\t5432\t/var/run/postgresql\t/var/lib/postgresql/15/main\n"


def settings(**values: str) -> str:
    base = {
        "log_connections": "on",
        "log_disconnections": "on",
        "log_line_prefix": "%m [%p] %q%u@%d %h ",
        "log_statement": "ddl",
    }
    base.update(values)
    return "".join(f"{k}|{v}\n" for k, v in sorted(base.items()))


def canned(catalogue: Catalogue, answers: dict[str, Any]) -> Outcome:
    ctx = fake_context(answers)
    return IMPL["LOG-02"].check(ctx, params(catalogue, "LOG-02"))


def test_log02_is_skipped_where_no_postgresql_runs(catalogue: Catalogue) -> None:
    outcome = canned(catalogue, {"pgrep -x postgres": ""})
    assert outcome.status is Status.SKIPPED


def test_log02_passes_the_settings_a_groupware_database_should_have(catalogue: Catalogue) -> None:
    outcome = canned(catalogue, {"pgrep": CLUSTER, "psql": settings()})
    assert outcome.status is Status.PASS


def test_log02_statements_off_fail_and_a_prefix_without_the_client_warns(
    catalogue: Catalogue,
) -> None:
    answers = {"pgrep": CLUSTER, "psql": settings(log_statement="none")}
    assert canned(catalogue, answers).summary == (
        "port 5432 (/var/lib/postgresql/15/main): log_statement = none, DDL not logged "
        "(needs ddl or mod or all)"
    )
    answers = {"pgrep": CLUSTER, "psql": settings(log_line_prefix="%m [%p] %q%u@%d ")}
    outcome = canned(catalogue, answers)
    assert outcome.status is Status.WARN
    assert outcome.summary.endswith("lacks the client")


def test_log02_postgresql_18_connection_aspects_naming_authorization_count_as_on(
    catalogue: Catalogue,
) -> None:
    answers = {"pgrep": CLUSTER, "psql": settings(log_connections="receipt,authorization")}
    assert canned(catalogue, answers).status is Status.PASS
    answers = {"pgrep": CLUSTER, "psql": settings(log_connections="receipt")}
    assert canned(catalogue, answers).status is Status.FAIL


def test_log02_a_server_psql_cannot_query_is_an_error_not_a_pass(catalogue: Catalogue) -> None:
    answers = {"pgrep": CLUSTER, "psql": Answer(2, "", "psql: error: connection refused")}
    with pytest.raises(ControlError, match="connection refused"):
        canned(catalogue, answers)


def test_log02_a_listing_line_that_is_not_a_postmaster_is_an_error() -> None:
    with pytest.raises(ControlError, match="unexpected line"):
        database.parse_clusters("cluster\t1\tpostgres\t54x32\t/run\t/data\n")
