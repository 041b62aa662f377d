"""Personal computers fit for telework (M9, M10): a collector the security unit hands to a
teleworker, its sealed report, the review that judges it with the audit's BYOD controls,
and the approval ``toolkit vpn bundle`` asks for (docs/byod.md)."""
