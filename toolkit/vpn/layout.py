"""Where the teleworkers' VPN files live on the controller, relative to an inventory folder.

``.vpn/keys`` is read by every user of the devices' keys: role vpn_gateway (its peers),
role vpn_client (writes a laptop's keys there), ``toolkit vpn bundle`` (writes a personal
computer's or phone's keys there) and the audit (VPN-02, VPN-07). In Python it is
:data:`KEYS_DIR`; in Ansible the variable ``telework_vpn_keys_dir``, which both roles
read and whose default is the same folder (``tests/unit/test_vpn_layout.py`` checks it).
"""

from __future__ import annotations

from pathlib import Path

VPN_DIR = Path(".vpn")
#: ``<device>.pub`` and ``<device>.psk`` of every device, where the gateway reads them.
KEYS_DIR = VPN_DIR / "keys"
#: ``<gateway>.json``: the settings and address allocation each gateway exports.
GATEWAYS_DIR = VPN_DIR / "gateways"
#: ``<teleworker>-<device>.conf`` and ``.png`` made by ``toolkit vpn bundle`` (0600).
BUNDLES_DIR = VPN_DIR / "bundles"
#: The Ansible variable naming the keys folder, read by roles vpn_gateway and vpn_client.
KEYS_DIR_VARIABLE = "telework_vpn_keys_dir"


def keys_dir(inventory: Path) -> Path:
    """The keys folder of an inventory folder."""
    return inventory / KEYS_DIR
