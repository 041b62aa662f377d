"""Adapters to the outside world: processes, podman, ansible, SSH."""
