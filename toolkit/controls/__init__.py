"""Control implementations, one module per platform family (see toolkit.audit.registry)."""
