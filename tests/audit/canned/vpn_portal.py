"""VPN-08 judged both ways on canned answers: the gateway with the teleworker portal, as
role vpn_gateway builds it (finance gated, one open working session), passes; a rule of the
gated group without its open set, and an open address of a device without a session, fail.
The table is what nftables printed (tests/audit/fixtures/vpn_portal/)."""

from __future__ import annotations

from tests.audit.canned import AUDIT_DAY, Case, judged
from tests.audit.test_vpn_portal_control import gateway, table
from toolkit.audit.model import Status

CASES: list[Case] = [
    Case(
        "VPN-08",
        Status.PASS,
        "finance is open only to lt-0002, whose working session is open",
        judged("VPN-08", gateway(), context={"today": AUDIT_DAY}),
        "1 gated groups (finance) open only to devices of an open working session",
    ),
    Case(
        "VPN-08",
        Status.FAIL,
        "a rule of finance lets its peers through without the open set",
        judged(
            "VPN-08",
            gateway(nft=table(ungated="finance: accounting")),
            context={"today": AUDIT_DAY},
        ),
        "group finance is not gated: accept of @peers_finance_v4 without @open_finance_v4",
    ),
    Case(
        "VPN-08",
        Status.FAIL,
        "lt-0005's address is in the open set without a working session",
        judged("VPN-08", gateway(nft=table(opened=("10.77.0.5",))), context={"today": AUDIT_DAY}),
        "group finance: 10.77.0.5 (lt-0005 of ag0005) in open_finance_v4 without an open "
        "working session of finance",
    ),
]
