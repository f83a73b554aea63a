"""Calls to Cognito paced per quota category (``quotas.py``), so a run with many workers
stays under the account's request-rate quotas instead of being throttled by them.

Start times are spaced ``1/rate`` apart per category, across every thread of the process.
botocore's adaptive retries stay on for the throttling that remains (other callers in the
account share the same quotas).
"""

from __future__ import annotations

import threading
import time

from .quotas import CATEGORY, rates


class Pacer:
    def __init__(self, overrides: dict[str, float] | None = None):
        self.rates = rates(overrides)
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting for the quota (for benchmarks)

    def acquire(self, operation: str) -> None:
        category = CATEGORY.get(operation)
        if category is None:
            return
        interval = 1.0 / self.rates[category]
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(category, now))
            self._next[category] = start + interval
            self.waited += start - now
        if start > now:
            time.sleep(start - now)

    def before_call(self, model, **_) -> None:
        self.acquire(model.name)
