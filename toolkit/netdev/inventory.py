"""Network devices of an Ansible inventory: hosts of group ``network_devices`` or with an
``ansible_network_os``.

How each is reached is the inventory's, as for servers (``ansible_host``, ``ansible_port``,
``ansible_user``, ``ansible_ssh_private_key_file``, the known_hosts of
``ansible_ssh_common_args``), plus two variables naming files whose first line is a
secret: ``audit_password_file`` (the login password) and ``audit_enable_password_file``
(the enable secret of IOS and ASA). Passwords are never read from the inventory itself.
With ``--config-dir DIR`` the device is not contacted: ``DIR/NAME.cfg`` holds its
configuration, ``DIR/NAME.version`` (optional) what its version command printed."""

from __future__ import annotations

from pathlib import Path

from toolkit.adapters.ansible import InventoryHost
from toolkit.adapters.ssh import Endpoint
from toolkit.errors import InvalidInputError, Problem
from toolkit.netdev.collect import SAVED_SUFFIX
from toolkit.netdev.model import DeviceSpec
from toolkit.netdev.platforms import UnknownPlatformError, platform_of

GROUP = "network_devices"


def is_device(host: InventoryHost) -> bool:
    return GROUP in host.groups or bool(host.vars.get("ansible_network_os"))


def _path(value: object, inventory: Path) -> Path | None:
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else inventory / path


def device_of(
    host: InventoryHost, endpoint: Endpoint, inventory: Path, config_dir: Path | None
) -> DeviceSpec | None:
    """The device ``host`` is (None for a host that is no network device); an unknown
    platform is one InvalidInputError naming the host and the variable."""
    if not is_device(host):
        return None
    try:
        platform = platform_of(host.vars.get("ansible_network_os"))
    except UnknownPlatformError as exc:
        raise InvalidInputError(
            [Problem(str(inventory), 1, f"{host.name}.ansible_network_os", str(exc))]
        ) from exc
    return DeviceSpec(
        name=host.name,
        platform=platform,
        host=endpoint.host,
        port=endpoint.port,
        user=endpoint.user,
        key_file=endpoint.key_file,
        password_file=_path(host.vars.get("audit_password_file"), inventory),
        enable_password_file=_path(host.vars.get("audit_enable_password_file"), inventory),
        known_hosts=endpoint.known_hosts,
        saved=config_dir / f"{host.name}{SAVED_SUFFIX}" if config_dir else None,
    )
