"""Backups (A9) and restore drills (A5): ``toolkit backup`` and the continuity report."""
