"""``make soak``: the mixed workload at 32 clients for a fixed time against one node
(gunicorn, 2 workers) on our own PostgreSQL and Redis, with a worker killed (SIGKILL),
PostgreSQL restarted, and Redis stopped for 10 s; then the verdict (reliability.workload).

    python -m reliability.soak [--seconds 150] [--clients 32]

Exits 1 on a lost or duplicated acknowledged write, an unclean ``flask wallet audit``, a
5xx other than 503, or any failure outside the fault windows."""

from __future__ import annotations

import argparse
import sys
import threading
import time

from . import faults, services, workload
from .stack import Stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150, help="of load (default 150)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent (default 32)")
    parser.add_argument("--redis-down", type=float, default=10, help="seconds (default 10)")
    args = parser.parse_args()
    if reason := services.missing():
        print(f"soak: cannot start its own services: {reason}", file=sys.stderr)
        return 2
    record = workload.Record()
    with Stack(nodes=1, workers=2) as stack:
        prober = workload.Client(stack.url, stack.shop, stack.users[0], record, 0)
        prober.sign_in_and_authorize()
        probe = faults.Probe(stack.url, prober.tokens["access_token"])
        done: list[str] = []
        schedule = [
            (0.2, "worker SIGKILL", lambda: stack.kill_worker(0), stack.wait_for_workers, 0),
            (0.4, "PostgreSQL restart", lambda: stack.pg.stop("fast"), stack.pg.start, 0),
            (0.65, f"Redis stopped {args.redis_down:.0f} s", stack.redis.kill,
             stack.redis.start, args.redis_down),
        ]  # fmt: skip

        def run_faults():
            begun = time.monotonic()
            for share, name, broken, mended, hold in schedule:
                time.sleep(max(0, begun + share * args.seconds - time.monotonic()))
                done.append(faults.inject(record, probe, name, broken, mended, hold))

        record.started = time.monotonic()
        injector = threading.Thread(target=run_faults, daemon=True)
        injector.start()
        print(f"soak: {args.clients} clients for {args.seconds:.0f} s on {stack.url}", flush=True)
        clients = workload.run_clients(
            stack.url, stack.shop, stack.users, args.clients, args.seconds, record
        )
        injector.join(120)
        audit = stack.audit()
        problems = workload.verdict(record, clients, audit)
        print(workload.report(record, problems, audit, done))
        logged = stack.errors_logged()
        print(f"server errors logged: {len(logged)} (in {stack.instance})")
        for line in logged[:40]:
            print("  " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
