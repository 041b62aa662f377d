"""The teleworker portal's store (roles/vpn_gateway/files/telework_portal/portal_store.py):
TOTP secrets kept encrypted under a key file of their own (A4), a code's time step accepted
once (replays refused), recovery codes stored hashed and usable once, failed logins counted
per key within a window (WEB-05), and ``reset`` (lost device) for the admin CLI."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "roles/vpn_gateway/files/telework_portal"
if str(PORTAL) not in sys.path:  # the portal's modules import each other by name
    sys.path.insert(0, str(PORTAL))

from portal_store import Store, new_recovery_codes, normal_code  # noqa: E402

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "portal.db", Fernet.generate_key())


def database_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as a thief would copy them."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_a_secret_is_stored_encrypted_and_read_back_with_the_key(store: Store) -> None:
    codes = new_recovery_codes()
    assert store.enrol("AG0001", SECRET, 100, codes, NOW)
    assert store.secret("ag0001") == (SECRET, 100)
    assert store.enrolled("Ag0001")
    raw = database_bytes(store.path)
    assert SECRET.encode() not in raw
    for code in codes:
        assert code.encode() not in raw and code.replace("-", "").encode() not in raw


def test_the_database_is_readable_by_its_owner_only(store: Store) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_a_teleworker_enrols_once_until_reset(store: Store) -> None:
    assert store.enrol("ag0001", SECRET, 100, new_recovery_codes(), NOW)
    assert not store.enrol("ag0001", "OTHERSECRET", 200, new_recovery_codes(), NOW)
    assert store.secret("ag0001") == (SECRET, 100)


def test_a_time_step_is_accepted_once_and_only_when_newer(store: Store) -> None:
    store.enrol("ag0001", SECRET, 100, new_recovery_codes(), NOW)
    assert not store.accept_step("ag0001", 100)  # the enrolment's code, replayed
    assert store.accept_step("ag0001", 101)
    assert not store.accept_step("ag0001", 101)
    assert not store.accept_step("ag0001", 99)
    assert store.accept_step("ag0001", 105)
    assert not store.accept_step("nobody", 200)


def test_a_recovery_code_works_once_in_any_case_or_spacing(store: Store) -> None:
    codes = new_recovery_codes()
    store.enrol("ag0001", SECRET, 100, codes, NOW)
    typed = codes[3].lower().replace("-", " ")
    assert store.use_recovery("ag0001", typed, NOW)
    assert not store.use_recovery("ag0001", codes[3], NOW + 1)
    assert store.recovery_left("ag0001") == 9
    assert not store.use_recovery("ag0002", codes[4], NOW)  # another teleworker's code
    assert not store.use_recovery("ag0001", "AAAA-AAAA-AAAA-AAAA", NOW)
    assert not store.use_recovery("ag0001", "123456", NOW)


def test_recovery_codes_are_ten_distinct_80_bit_codes() -> None:
    codes = new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    for code in codes:
        plain = normal_code(code)
        assert plain is not None and len(plain) == 16 and code.count("-") == 3


def test_reset_forgets_the_secret_and_recovery_codes_without_the_key(store: Store) -> None:
    codes = new_recovery_codes()
    store.enrol("ag0001", SECRET, 100, codes, NOW)
    admin = Store(store.path)  # the admin CLI has no access to the secrets' key
    assert admin.reset("AG0001")
    assert not admin.reset("ag0001")
    assert store.secret("ag0001") is None
    assert not store.use_recovery("ag0001", codes[0], NOW)
    assert store.enrol("ag0001", "NEWSECRETNEWSECRET", 300, new_recovery_codes(), NOW)


def test_a_store_opened_without_the_key_cannot_read_secrets(store: Store) -> None:
    store.enrol("ag0001", SECRET, 100, new_recovery_codes(), NOW)
    with pytest.raises(RuntimeError, match="key"):
        Store(store.path).secret("ag0001")


def test_failures_are_counted_per_key_within_the_window_and_old_ones_deleted(
    store: Store,
) -> None:
    store.add_failure(["login:ag0001", "address:10.0.0.1"], NOW, NOW - 900)
    store.add_failure(["login:ag0001"], NOW + 10, NOW + 10 - 900)
    assert store.failures("login:ag0001", NOW - 900) == [NOW, NOW + 10]
    assert store.failures("address:10.0.0.1", NOW - 900) == [NOW]
    assert store.failures("login:ag0001", NOW + 5) == [NOW + 10]
    store.add_failure(["login:other"], NOW + 1000, NOW + 1000 - 900)  # purges the old ones
    assert store.failures("login:ag0001", 0) == []
    store.clear_failures("login:other")
    assert store.failures("login:other", 0) == []


def test_a_sealed_text_opens_within_its_lifetime_only(store: Store) -> None:
    token = store.seal('{"user": "ag0001"}', NOW)
    assert store.unseal(token, NOW + 599, 600) == '{"user": "ag0001"}'
    assert store.unseal(token, NOW + 601, 600) is None
    assert store.unseal(token[:-4] + "AAAA", NOW, 600) is None
    assert store.unseal("not a token", NOW, 600) is None
    other = Store(store.path.parent / "other.db", Fernet.generate_key())
    assert other.unseal(token, NOW, 600) is None
