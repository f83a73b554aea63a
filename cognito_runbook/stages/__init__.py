"""One module per runbook section; each owns one AWS concern (``ensure_*``, ``delete_*``)."""
