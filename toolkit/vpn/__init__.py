"""The teleworkers' VPN from the controller's side: client bundles for personal computers
and phones (M7, M9, A12), from the allocation role vpn_gateway exports."""

from toolkit.vpn.bundle import Bundle, BundleError, make_bundle
from toolkit.vpn.keys import KeyPair, generate_keypair, generate_psk

__all__ = ["Bundle", "BundleError", "KeyPair", "generate_keypair", "generate_psk", "make_bundle"]
