"""The news domain: models, matching, scheduling maths, ports and use cases (no I/O, no clock)."""
