"""Faults injected during a run, each with the window in which failures are expected
and the recovery time measured by a probe every 0.2 s."""

from __future__ import annotations

import time

import requests

from .workload import API, Record

GRACE = 3.0  # seconds after recovery that stragglers (requests begun in the fault) end in


class Probe:
    """Healthy: ``/readyz`` (database and Redis) and a wallet read with a user's token,
    through the balancer.  It writes nothing, so the ledger check stays exact."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def healthy(self) -> bool:
        headers = {"Authorization": f"Bearer {self.token}", "Connection": "close"}
        try:
            ready = requests.get(f"{self.base}/readyz", timeout=5, headers=headers)
            check = requests.post(
                f"{self.base}{API}/credit-check", json={"required": 1}, timeout=5,
                headers=headers,
            )  # fmt: skip
        except requests.RequestException:
            return False
        return ready.status_code == 200 and check.status_code == 200

    def wait(self, limit: float = 120) -> float:
        """Seconds until healthy (at most ``limit``)."""
        start = time.monotonic()
        while time.monotonic() - start < limit:
            if self.healthy():
                return time.monotonic() - start
            time.sleep(0.2)
        return float("inf")


def inject(record: Record, probe: Probe, name: str, break_it, mend_it=None, hold: float = 0):
    """Break, wait ``hold`` seconds, mend; the window runs from the break to recovery
    (plus GRACE).  Returns a line for the report."""
    start = time.monotonic()
    break_it()
    time.sleep(hold)
    if mend_it is not None:
        mend_it()
    mended = time.monotonic()
    recovery = probe.wait()
    end = time.monotonic() + GRACE
    record.windows.append((name, start, end))
    at = start - record.started
    return (
        f"{name} at {at:.0f} s: down {mended - start:.1f} s, recovered {recovery:.2f} s"
        f" after it was back (window {at:.1f}-{end - record.started:.1f} s)"
    )
