"""Drive one HTTP POST with wrk and read its ``--latency`` report."""

from __future__ import annotations

import re
import subprocess
import tempfile

# wrk replays this one request on every connection; Lua is wrk's only way to set a body.
SCRIPT = """\
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"
"""
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


class WrkError(RuntimeError):
    """wrk could not run, or printed a report we cannot read."""


def run(
    url: str, body: str, authorization: str, *, seconds: int, connections: int, threads: int
) -> str:
    """POST ``body`` to ``url`` for ``seconds`` on ``connections``; returns wrk's report."""
    script = SCRIPT.format(body=body, authorization=authorization)
    return run_script(url, script, seconds=seconds, connections=connections, threads=threads)


def run_script(url: str, lua: str, *, seconds: int, connections: int, threads: int) -> str:
    """Run wrk with the Lua ``lua`` against ``url``; returns wrk's ``--latency`` report."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        options = (
            f"--threads {threads} --connections {connections} --duration {seconds}s"
            f" --timeout 5s --latency --script {script.name}"
        )
        cmd = ["wrk", *options.split(), url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode:
        raise WrkError(f"wrk failed: {done.stderr or done.stdout}")
    return done.stdout


def _ms(duration: str) -> float:
    """Milliseconds in one of wrk's durations: "812.00us", "3.10ms", "1.02s", "1.00m"."""
    value, unit = re.fullmatch(r"([\d.]+)([a-z]+)", duration).groups()
    return float(value) * _UNIT_MS[unit]


def parse(report: str) -> dict:
    """Throughput, p50/p99 latency (ms) and error counts from a ``wrk --latency`` report."""

    def find(pattern: str) -> str:
        match = re.search(pattern, report, re.M)
        if not match:
            raise WrkError(f"no {pattern!r} in wrk's report:\n{report}")
        return match.group(1)

    # wrk prints these two lines only when they are not zero.
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    socket_errors = re.search(r"Socket errors:\s*(.*)", report)
    return {
        "requests": int(find(r"(\d+) requests in")),
        "seconds": _ms(find(r"requests in (\S+),")) / 1000,
        "requests_per_s": float(find(r"Requests/sec:\s+([\d.]+)")),
        "p50_ms": _ms(find(r"^\s+50%\s+(\S+)")),
        "p99_ms": _ms(find(r"^\s+99%\s+(\S+)")),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "none",
    }
