"""The ``toolkit`` command: click commands only; the work is done in the packages beside."""
