"""The local lab: Debian systemd containers under podman, one per inventory host."""
