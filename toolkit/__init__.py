"""telework-toolkit: provision, audit and prove a telework platform (circular 2020/3)."""

__version__ = "0.1.0"
