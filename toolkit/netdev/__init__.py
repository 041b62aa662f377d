"""Network devices (routers, firewalls, VPN concentrators) audited before telework opens
(M8, A13): their configuration read over SSH with netmiko, read-only, or from saved files,
and parsed per platform (docs/network-devices.md)."""
