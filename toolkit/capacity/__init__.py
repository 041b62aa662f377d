"""Capacity planning (A20, M3): can the platform carry its teleworkers?

The roster gives who teleworks when (C1, C2), an activity profile turns head-counts into
demand per platform, the inventory declares the capacity and ``toolkit load`` measures
ceilings; :mod:`toolkit.capacity.plan` compares them and names the bottleneck."""
