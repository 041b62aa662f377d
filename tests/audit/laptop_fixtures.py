"""What a laptop role laptop configured answers to the LAP controls' commands, piece by
piece, for the tests to weaken one piece at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.audit.conftest import Answer, fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome
from toolkit.audit.registry import implementations

IMPL = implementations()
NOW = 1_800_000_000

DCONF_PROFILE = "user-db:user\nsystem-db:local\n"
KEYFILE = """\
# Managed by Ansible
[org/gnome/desktop/session]
idle-delay=uint32 900

[org/gnome/desktop/screensaver]
lock-enabled=true
lock-delay=uint32 0
idle-activation-enabled=true

[org/gnome/desktop/media-handling]
automount=false
automount-open=false
autorun-never=true
"""
LOCKED_KEYS = (
    "/org/gnome/desktop/session/idle-delay",
    "/org/gnome/desktop/screensaver/lock-enabled",
    "/org/gnome/desktop/screensaver/lock-delay",
    "/org/gnome/desktop/screensaver/idle-activation-enabled",
    "/org/gnome/desktop/media-handling/automount",
    "/org/gnome/desktop/media-handling/automount-open",
    "/org/gnome/desktop/media-handling/autorun-never",
)
LOCKS = "# The teleworker cannot change these settings\n" + "\n".join(LOCKED_KEYS) + "\n"
DB = "/etc/dconf/db/local"


def dconf(
    keyfiles: Mapping[str, str] | None = None,
    locks: str = LOCKS,
    compiled_at: int | None = NOW,
    changed_at: int = NOW - 60,
    profile: Answer | str = DCONF_PROFILE,
) -> dict[str, Answer | str]:
    """Answers of a laptop whose dconf database ``local`` has ``keyfiles`` (name ->
    text; default the role's) and the role's locks, compiled at ``compiled_at`` (None:
    never), its files changed at ``changed_at``."""
    files = {"00-telework-laptop": KEYFILE} if keyfiles is None else dict(keyfiles)
    listing = [f"{compiled_at}.25 4096 {DB}"] if compiled_at is not None else []
    listing += [f"{changed_at}.5 {len(t)} {DB}.d/{name}" for name, t in files.items()]
    listing.append(f"{changed_at}.5 {len(locks)} {DB}.d/locks/00-telework-laptop")
    answers: dict[str, Answer | str] = {
        "cat /etc/dconf/profile/user": profile,
        f"find -L {DB} ": "\n".join(listing) + "\n",
        f"cat -- {DB}.d/locks/00-telework-laptop$": locks,
    }
    answers.update({f"cat -- {DB}.d/{name}$": text for name, text in files.items()})
    return answers


MODPROBE_BLOCKING = (
    "blacklist usb_storage\ninstall usb_storage /bin/false\nblacklist uas\ninstall uas /bin/false\n"
)
CLAMAV_ACTIVE = "active\nactive\n"
NFT_LAPTOP = (
    '{"nftables": [{"metainfo": {"json_schema_version": 1}},'
    ' {"table": {"family": "inet", "name": "telework_laptop", "handle": 1}},'
    ' {"chain": {"family": "inet", "table": "telework_laptop", "name": "input", "handle": 3,'
    ' "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},'
    ' {"rule": {"family": "inet", "table": "telework_laptop", "chain": "input", "handle": 7,'
    ' "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}},'
    ' "right": ["established", "related"]}}, {"accept": null}]}},'
    ' {"rule": {"family": "inet", "table": "telework_laptop", "chain": "input", "handle": 8,'
    ' "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "lo"}},'
    ' {"accept": null}]}},'
    ' {"chain": {"family": "inet", "table": "telework_laptop", "name": "forward", "handle": 4,'
    ' "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}]}'
)
PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
admin:x:1000:1000::/home/admin:/bin/bash
ag0001:x:1001:1001:Amina Benali:/home/ag0001:/bin/bash
clamav:x:101:102::/var/lib/clamav:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""
GROUPS = "root:x:0:\nsudo:x:27:admin\nadm:x:4:\nadmin:x:1000:\nag0001:x:1001:\n"
NOT_ALLOWED = "User ag0001 is not allowed to run sudo on laptop01.\n"
WG_KEY = "G" * 42 + "A="
MACROS_XCD = """\
<?xml version="1.0" encoding="UTF-8"?>
<!--
  Managed by Ansible
-->
<oor:data xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:oor="http://openoffice.org/2001/registry">
  <dependency file="main"/>
  <oor:component-data xmlns:install="http://openoffice.org/2004/installation" oor:name="Common" oor:package="org.openoffice.Office">
    <node oor:name="Security">
      <node oor:name="Scripting">
        <prop oor:name="MacroSecurityLevel" oor:op="fuse" oor:finalized="true">
          <value>3</value>
        </prop>
        <prop oor:name="DisableMacrosExecution" oor:op="fuse" oor:finalized="true">
          <value>false</value>
        </prop>
      </node>
    </node>
  </oor:component-data>
</oor:data>
"""
FIREFOX_POLICY = """\
{
  "policies": {
    "DisableAppUpdate": true,
    "DisableTelemetry": true,
    "ExtensionSettings": {
      "*": {"installation_mode": "blocked", "blocked_install_message": "IT (E10)."},
      "uBlock0@raymondhill.net": {"installation_mode": "normal_installed",
                                  "install_url": "https://example.test/ublock.xpi"}
    }
  }
}
"""
DEBIAN_SOURCES = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
DPKG = """\
apt ii  2.6.1
bash ii  5.2.15-2+b7
firefox-esr ii  128.5.0esr-1~deb12u1
libreoffice-core ii  4:7.4.7-1+deb12u5
nmap-common rc  7.93+dfsg1-1
"""


def judge(
    catalogue: Catalogue,
    control: str,
    answers: Mapping[str, Any],
    ctx: Context | None = None,
    **overrides: Any,
) -> Outcome:
    """``control`` run on a host answering ``answers`` (a fresh one unless ``ctx``), with
    its default parameters but ``overrides``."""
    context = ctx or fake_context(answers)
    return IMPL[control].check(context, params(catalogue, control, **overrides))
