"""Audit reports: terminal (rich), HTML (Jinja2), JSON (with its JSON Schema), JUnit XML."""
