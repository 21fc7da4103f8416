"""Training the low-level chunk policies (``python -m vla_core.train``)."""
