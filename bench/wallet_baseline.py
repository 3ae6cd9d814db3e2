"""Wallet consumes/s of this checkout against an earlier commit's, alternated in one run.

Issue 21 (credit lots) asks that a consume stay within 10 % of its rate before lots.
Figures taken on different days or machines do not compare (one machine here ran
pgbench's one-row consume at 2,172 tps, another at 580), so this script measures both in
the same run: it checks the earlier commit (``--rev``, by default :data:`BEFORE_LOTS`)
out into a temporary git worktree beside this one, sharing this checkout's ``.venv``,
and runs each tree's own ``bench/wallet_consume.py`` in turn, A B A B ..., for
``--rounds`` rounds.  Each run builds its own database with its own tree's migrations
and CLI and serves its own tree's code (gunicorn and ``flask`` import from the tree they
run in), so the only difference is the commit.  Per case it prints every round's
consumes/s, the medians and their ratio beside the goal (>= 0.9x).

wrk's figure of one commit moves by 2x between runs on a machine whose speed varies, so
it then runs ``--pairs`` pairs of bench/wallet_cost.py, both trees at the same time over
the same seconds: CPU per consume (the server's Python and PostgreSQL's), whose ratio
the machine's speed at that moment divides out of.  Both verdicts are printed.

    .venv/bin/python bench/wallet_baseline.py                  # 3 rounds, 5 pairs
    .venv/bin/python bench/wallet_baseline.py --rev HEAD~5 --rounds 5 --duration 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from summary import row, write  # bench/summary.py: this script's folder is first on sys.path
from token_endpoint import RESULTS, ROOT, BenchError, busy_share

# The last commit before credit lots (issue 21): the figure its consumes are held to.
BEFORE_LOTS = "7034b69"
GOAL = 0.9
CASES = ("one wallet row", "1,000 wallets")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default=BEFORE_LOTS, help=f"the baseline ({BEFORE_LOTS})")
    parser.add_argument("--rounds", type=int, default=3, help="A B pairs (3)")
    parser.add_argument("--duration", type=int, default=15, help="seconds of each load (15)")
    parser.add_argument(
        "--together", type=int, default=3, help="wrk on both servers at once, pairs (3)"
    )
    parser.add_argument(
        "--pairs", type=int, default=5, help="side-by-side runs of bench/wallet_cost.py (5)"
    )
    parser.add_argument("--cost-seconds", type=float, default=15, help="of each (15)")
    parser.add_argument(
        "--summary-json", type=Path, metavar="PATH", help="write the goal rows (one per case)"
    )
    return parser.parse_args()


def worktree(rev: str, into: Path) -> Path:
    """``rev`` checked out at ``into``, using this checkout's virtualenv."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), rev],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise BenchError(f"git worktree add {rev} failed:\n{done.stderr}")
    (into / ".venv").symlink_to(ROOT / ".venv")
    return into


def remove_worktree(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
        capture_output=True, check=False,
    )  # fmt: skip


def consumes(tree: Path, duration: int) -> dict[str, dict[str, float]]:
    """One run of ``tree``'s wallet bench: per case, consumes/s and server CPU ms per
    consume (from the results file it saves; the older commit's has the same fields)."""
    results = tree / "bench" / "results"
    known = set(results.glob("wallet_consume-*.json"))
    cmd = [str(ROOT / ".venv" / "bin" / "python"), "bench/wallet_consume.py"]
    cmd += ["--duration", str(duration)]
    done = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=False)
    saved = set(results.glob("wallet_consume-*.json")) - known
    if done.returncode or len(saved) != 1:
        raise BenchError(f"{tree.name}: wallet_consume.py failed:\n{done.stderr[-2000:]}")
    measured = json.loads(saved.pop().read_text())["cases"]
    found = {}
    for name, case in zip(("one", "many"), CASES, strict=True):
        api = measured[name]["api"]
        found[case] = {
            "consumes_per_s": api["requests_per_s"],
            "server_cpu_ms": 1000 * api["server_cpu_s"] / max(api["requests"], 1),
        }
    return found


# Both runs of a pair build their database and warm up first; then they measure over
# the same seconds, so the machine's speed at that moment is the same for both.
COST_SETUP_SECONDS = 60
WRK_SETUP_SECONDS = 90  # provisioning 1,001 users, a server, its check and warm-up


def side_by_side(commands: dict[str, list[str]], outs: dict[str, Path], timeout: float) -> dict:
    """Run both sides' commands at once; each side's JSON output."""
    procs = {}
    for side, cmd in commands.items():
        procs[side] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    found = {}
    for side, proc in procs.items():
        _, err = proc.communicate(timeout=timeout)
        if proc.returncode or not outs[side].exists():
            raise BenchError(f"{side} failed:\n{err.decode()[-2000:]}")
        found[side] = json.loads(outs[side].read_text())
    return found


def order(trees: dict[str, Path], n: int) -> list[str]:
    """Which side is started first alternates from pair to pair."""
    return list(trees) if n % 2 == 0 else list(reversed(list(trees)))


def run_pair(trees: dict[str, Path], script: str, setup: float, timeout: float,
             scratch: Path, n: int, options) -> dict:  # fmt: skip
    """bench/``script`` on both trees at once, measuring from ``setup`` seconds on:
    ``options(side, out)`` are each side's own flags; returns each side's JSON output."""
    start_at = time.time() + setup
    commands, outs = {}, {}
    for side in order(trees, n):
        outs[side] = scratch / f"{script}-{side}-{n}.json"
        commands[side] = [
            str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "bench" / script),
            "--tree", str(trees[side]), "--start-at", str(start_at), *options(side, outs[side]),
        ]  # fmt: skip
    return side_by_side(commands, outs, setup + timeout)


def cost_pair(trees: dict[str, Path], seconds: float, scratch: Path, n: int) -> dict:
    """bench/wallet_cost.py on both trees at once: each side's CPU ms per consume."""
    return run_pair(
        trees, "wallet_cost.py", COST_SETUP_SECONDS, seconds + 120, scratch, n,
        lambda side, out: ["--database", f"idp_bench_wallet_cost_{side}",
                           "--seconds", str(seconds), "--json", str(out)],
    )  # fmt: skip


def wrk_pair(trees: dict[str, Path], duration: int, scratch: Path, n: int) -> dict:
    """This checkout's bench/wallet_consume.py serving each tree at once (two servers, two
    wrk, the same seconds): each side's consumes/s per case."""
    found = run_pair(
        trees, "wallet_consume.py", WRK_SETUP_SECONDS, 4 * duration + 180, scratch, n,
        lambda side, out: ["--database", f"idp_bench_wallet_{side}", "--api-only",
                           "--duration", str(duration), "--summary-json", str(out)],
    )  # fmt: skip
    return {
        side: {case: r["value"] for r in rows for case in CASES if case in r["figure"]}
        for side, rows in found.items()
    }


def commit_of(tree: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def main() -> int:
    args = parse_args()
    busy = busy_share()
    if busy > 0.1:
        print(f"warning: CPU {busy:.0%} busy before the run; figures will be noisy", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {"before": [], "now": []}
    with tempfile.TemporaryDirectory() as scratch:
        before = worktree(args.rev, Path(scratch) / "before")
        try:
            names = {"before": commit_of(before), "now": commit_of(ROOT)}
            trees = {"before": before, "now": ROOT}
            for n in range(args.rounds):
                for side in ("before", "now"):
                    print(f"round {n + 1}/{args.rounds}: {names[side]}...", flush=True)
                    runs[side].append(consumes(trees[side], args.duration))
                    print(f"  {runs[side][-1]}", flush=True)
            both = (
                ("together", args.together, lambda n: wrk_pair(trees, args.duration, tmp, n)),
                ("cost", args.pairs, lambda n: cost_pair(trees, args.cost_seconds, tmp, n)),
            )
            tmp = Path(scratch)
            for kind, count, measure in both:
                for n in range(count):
                    print(f"{kind} pair {n + 1}/{count}: both trees at once...", flush=True)
                    pair = measure(n)
                    for side in ("before", "now"):
                        runs.setdefault(f"{kind}_{side}", []).append(pair[side])
                    print(f"  {pair}", flush=True)
        finally:
            remove_worktree(before)
    rows = []
    print(f"\n== consumes: {names['now']} against {names['before']} ({args.rev}) ==")
    if args.rounds:
        print(f"wrk, alternated, {args.rounds} rounds of {args.duration} s:")
        for case in CASES:
            was = [r[case]["consumes_per_s"] for r in runs["before"]]
            now = [r[case]["consumes_per_s"] for r in runs["now"]]
            ratio = statistics.median(now) / statistics.median(was)
            cpu_was = statistics.median(r[case]["server_cpu_ms"] for r in runs["before"])
            cpu_now = statistics.median(r[case]["server_cpu_ms"] for r in runs["now"])
            verdict = "met" if ratio >= GOAL else "not met"
            print(
                f"{case}: consumes/s {names['before']} {', '.join(f'{v:.0f}' for v in was)}"
                f" (median {statistics.median(was):.0f}); {names['now']}"
                f" {', '.join(f'{v:.0f}' for v in now)} (median {statistics.median(now):.0f});"
                f" ratio {ratio:.2f}x, goal >= {GOAL}x: {verdict}\n"
                f"  server CPU ms/consume, medians: {names['before']} {cpu_was:.2f},"
                f" {names['now']} {cpu_now:.2f} ({cpu_now / cpu_was - 1:+.0%})"
            )
            rows.append(row(
                f"wallet consumes/s, {case}, {names['now']} (median of {args.rounds})",
                round(statistics.median(now), 1), "consumes/s",
                f"the same at {names['before']}, before credit lots, alternated",
                round(statistics.median(was), 1), f">= {GOAL}x", ratio >= GOAL,
            ))  # fmt: skip
    if args.together:
        print(f"wrk, both servers at once, {args.together} pairs of {args.duration} s:")
        for case in CASES:
            paired = zip(runs["together_before"], runs["together_now"], strict=True)
            ratios = [now[case] / was[case] for was, now in paired]
            ratio = statistics.median(ratios)
            print(
                f"  {case}: {names['before']} "
                + ", ".join(f"{r[case]:.0f}" for r in runs["together_before"])
                + f"; {names['now']} "
                + ", ".join(f"{r[case]:.0f}" for r in runs["together_now"])
                + f"; ratio per pair {', '.join(f'{r:.2f}' for r in ratios)}, median"
                f" {ratio:.2f}x, goal >= {GOAL}x: {'met' if ratio >= GOAL else 'not met'}"
            )
            now = statistics.median(r[case] for r in runs["together_now"])
            was = statistics.median(r[case] for r in runs["together_before"])
            rows.append(row(
                f"wallet consumes/s, {case}, {names['now']}, both servers at once",
                round(now, 1), "consumes/s",
                f"the same at {names['before']}, in the same seconds",
                round(was, 1), f">= {GOAL}x (median of per-pair ratios: {ratio:.2f})",
                ratio >= GOAL,
            ))  # fmt: skip
    if args.pairs:
        cost = {
            side: {
                name: statistics.median(r[name] for r in runs[f"cost_{side}"])
                for name in ("python_ms", "postgres_ms", "total_ms")
            }
            for side in ("before", "now")
        }
        # On a machine the server and PostgreSQL saturate, consumes/s goes as 1 / CPU.
        ratio = cost["before"]["total_ms"] / cost["now"]["total_ms"]
        print(
            f"CPU ms per consume, side by side, medians of {args.pairs}:"
            + "".join(
                f" {names[side]} {cost[side]['total_ms']:.2f}"
                f" (Python {cost[side]['python_ms']:.2f}, PostgreSQL"
                f" {cost[side]['postgres_ms']:.2f});"
                for side in ("before", "now")
            )
            + f" consumes per CPU-second {ratio:.2f}x, goal >= {GOAL}x:"
            f" {'met' if ratio >= GOAL else 'not met'}"
        )
        rows.append(row(
            f"consumes per CPU-second (server + PostgreSQL), {names['now']}, side by side",
            round(1000 / cost["now"]["total_ms"], 1), "consumes/CPU-s",
            f"the same at {names['before']}, measured at the same time",
            round(1000 / cost["before"]["total_ms"], 1), f">= {GOAL}x", ratio >= GOAL,
        ))  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S")
    saved = {"names": names, "runs": runs, "args": {k: str(v) for k, v in vars(args).items()}}
    (RESULTS / f"wallet_baseline-{stamp}.json").write_text(json.dumps(saved, indent=2))
    write(args.summary_json, rows)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
