"""Use cases: check access, load, compute, store; each module owns its transaction."""
