"""The drill's steps inside the scratch container, each one command whose answer is judged
by toolkit.backup.manifest: the restored files hashed against MANIFEST.json, each LDIF
loaded into a scratch slapd, each PostgreSQL dump restored into a scratch cluster and
queried, one message of each mail store read.

They take any object with the :class:`Runner` method (the scratch container, or a fake
answering canned outputs in the tests)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Protocol

from pydantic import ValidationError

from toolkit.backup.manifest import (
    HASH_SCRIPT,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    Manifest,
    Planned,
    Restored,
    judge_ldap,
    judge_message,
    judge_postgresql,
)
from toolkit.backup.status import DrillCheck
from toolkit.errors import ToolkitError
from toolkit.text import printable

RESTORE = "/drill/restore"


class Runner(Protocol):
    def sh(
        self,
        script: str,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]: ...


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return printable((proc.stderr or proc.stdout).strip()[-300:])


def read_manifest(runner: Runner) -> Manifest:
    """MANIFEST.json of the restored archive; ToolkitError when absent or malformed."""
    proc = runner.sh(
        'f="$1"; test -f "$f" || exit 44; head -c "$2" "$f"',
        f"{RESTORE}{MANIFEST}",
        str(MAX_MANIFEST_BYTES + 1),
        check=False,
    )
    if proc.returncode == 44:
        raise ToolkitError(
            f"the archive holds no {MANIFEST}: nothing to verify the restore against"
        )
    if proc.returncode != 0 or len(proc.stdout) > MAX_MANIFEST_BYTES:
        raise ToolkitError(f"{MANIFEST}: cannot be read ({_tail(proc)})")
    try:
        return Manifest.model_validate_json(proc.stdout)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "-"
        raise ToolkitError(f"{MANIFEST}: {where}: {first['msg']}") from None


def hash_restored(runner: Runner, manifest: Manifest, timeout: float) -> list[Restored]:
    """sha256 and size of every manifest path in the restored tree."""
    paths = json.dumps([f.path for f in manifest.files])
    proc = runner.sh(
        'exec python3 -c "$1" "$2"', HASH_SCRIPT, RESTORE, stdin=paths, timeout=timeout
    )
    found = []
    for line in proc.stdout.splitlines():
        try:
            found.append(Restored.model_validate_json(line))
        except ValidationError as exc:
            raise ToolkitError(f"hash script: unexpected line {printable(line[:100])}") from exc
    return found


def _int(text: str) -> int | None:
    value = text.strip().splitlines()[-1].strip() if text.strip() else ""
    return int(value) if re.fullmatch(r"[0-9]{1,12}", value) else None


#: A dump of cn=config (its first entry) is loaded with slapadd -n 0 into a new
#: configuration folder, as an OpenLDAP server is rebuilt, and read back. A data dump is
#: loaded as the directory served it: the restored /etc/ldap (cn=config, schemas,
#: modules, certificates) replaces the container's, the database folder is emptied,
#: slapadd loads the LDIF, slapcat reads the entries back. Without a restored
#: cn=config, a minimal configuration of the LDIF's suffix with the directory role's
#: modules (memberof, ppolicy) is used.
LDAP_SCRIPT = r"""
set -u
ldif="$1"; restore="$2"
systemctl stop slapd >/dev/null 2>&1 || true
if [ "$(sed -n 's/^dn: //p' "$ldif" | head -n1)" = "cn=config" ]; then
  rm -rf /drill/slapd.d-config && mkdir -p /drill/slapd.d-config
  slapadd -q -n 0 -F /drill/slapd.d-config -l "$ldif" >&2 || exit 3
  slapcat -n 0 -F /drill/slapd.d-config | grep -c '^dn:'
  exit 0
fi
if [ -d "$restore/etc/ldap/slapd.d" ]; then
  rm -rf /etc/ldap && cp -a "$restore/etc/ldap" /etc/ldap
  db=$(grep -h '^olcDbDirectory:' /etc/ldap/slapd.d/cn=config/olcDatabase=*mdb.ldif \
    | head -n1 | cut -d' ' -f2)
  mkdir -p "${db:-/var/lib/ldap}" && rm -rf "${db:-/var/lib/ldap}"/*
  slapadd -q -n 1 -l "$ldif" >&2 || exit 3
  slapcat -n 1 | grep -c '^dn:'
else
  suffix=$(sed -n 's/^dn: //p' "$ldif" | awk '{ print length, $0 }' | sort -n \
    | head -n1 | cut -d' ' -f2-)
  mkdir -p /drill/ldap-db
  cat > /drill/slapd.conf <<EOF
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
database mdb
suffix "$suffix"
directory /drill/ldap-db
overlay memberof
overlay ppolicy
EOF
  slapadd -q -f /drill/slapd.conf -l "$ldif" >&2 || exit 3
  slapcat -f /drill/slapd.conf | grep -c '^dn:'
fi
"""

#: Restores a custom-format dump into a new database of the container's cluster and
#: counts, with one query, the rows of every table restored.
PG_SCRIPT = r"""
set -u
dump="$1"
cp "$dump" /tmp/drill.pgdump && chown postgres /tmp/drill.pgdump
as_pg() { runuser -u postgres -- "$@"; }
as_pg dropdb --if-exists drill >/dev/null 2>&1
as_pg createdb drill || exit 3
as_pg pg_restore --no-owner --no-privileges -d drill /tmp/drill.pgdump >&2 || exit 3
user="schemaname not in ('pg_catalog', 'information_schema')"
as_pg psql -At -d drill -c "select count(*) from pg_tables where $user" || exit 3
rows="query_to_xml(format('select count(*) as c from %I.%I', schemaname, tablename), \
  false, true, '')"
as_pg psql -At -d drill -c "select coalesce(sum((xpath('/row/c/text()', $rows))[1]::text::bigint), \
  0) from pg_tables where $user" || exit 3
"""
_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA)", re.M)


def check_ldap(runner: Runner, planned: Planned, timeout: float) -> DrillCheck:
    ldif = f"{RESTORE}{planned.path}"
    counted = runner.sh('grep -c "^dn:" "$1"', ldif, check=False)
    in_ldif = _int(counted.stdout) or 0
    proc = runner.sh(LDAP_SCRIPT, ldif, RESTORE, check=False, timeout=timeout)
    loaded = _int(proc.stdout) if proc.returncode == 0 else None
    label = f"{planned.source} {planned.path.rsplit('/', 1)[-1]}"  # a source may dump twice
    return judge_ldap(label, in_ldif, loaded, _tail(proc))


def check_postgresql(runner: Runner, planned: Planned, timeout: float) -> DrillCheck:
    dump = f"{RESTORE}{planned.path}"
    toc = runner.sh('pg_restore --list "$1"', dump, check=False)
    in_dump = len(_TOC_TABLE.findall(toc.stdout)) if toc.returncode == 0 else 0
    proc = runner.sh(PG_SCRIPT, dump, check=False, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    ok = proc.returncode == 0 and len(lines) >= 2
    return judge_postgresql(
        planned.source,
        in_dump,
        _int(lines[-2]) if ok else None,
        _int(lines[-1]) if ok else None,
        _tail(proc),
    )


def check_mail(runner: Runner, planned: Planned) -> DrillCheck:
    proc = runner.sh('head -c 8192 "$1"', f"{RESTORE}{planned.path}", check=False)
    head = proc.stdout if proc.returncode == 0 else None
    return judge_message(planned.source, planned.path, head)


def run_checks(runner: Runner, plan: list[Planned], timeout: float) -> list[DrillCheck]:
    checks = []
    for planned in plan:
        if planned.kind == "ldap":
            checks.append(check_ldap(runner, planned, timeout))
        elif planned.kind == "postgresql":
            checks.append(check_postgresql(runner, planned, timeout))
        else:
            checks.append(check_mail(runner, planned))
    return checks
