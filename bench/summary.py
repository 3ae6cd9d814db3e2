"""``make bench``'s last step: one table of every goal measured by the benchmarks.

Each benchmark, given ``--summary-json PATH``, writes a JSON list of rows::

    {"figure": str, "value": float, "unit": str, "peer": str, "peer_value": float,
     "ratio": float, "goal": str, "met": bool}

where ``peer`` is what the figure is set against, measured in the same run (another
server, PostgreSQL's own rate, the raw library, the hash alone).  This script prints
them all with the machine's cores and the date, and exits 0 whatever the verdicts: a
benchmark reports, it does not fail.  A benchmark that wrote nothing (it stopped with an
error) is listed as such.

    .venv/bin/python bench/summary.py DIR [NAME ...]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def row(figure, value, unit, peer, peer_value, goal, met) -> dict:
    """A summary row; ``ratio`` is value / peer_value; ``met`` None: a reference, no goal."""
    ratio = value / peer_value if peer_value else 0.0
    return {
        "figure": figure,
        "value": value,
        "unit": unit,
        "peer": peer,
        "peer_value": peer_value,
        "ratio": ratio,
        "goal": goal,
        "met": None if met is None else bool(met),
    }


def write(path: str | os.PathLike | None, rows: list[dict]) -> None:
    if path:
        Path(path).write_text(json.dumps(rows, indent=2) + "\n")


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(results: dict[str, list[dict] | None]) -> str:
    headers = ["benchmark", "figure", "value", "against (same run)", "ratio", "goal", "met"]
    lines = []
    for name, rows in results.items():
        if rows is None:
            lines.append([name, "(no figures: the benchmark stopped with an error)"] + [""] * 5)
            continue
        for r in rows:
            lines.append(
                [
                    name,
                    r["figure"],
                    f"{_number(r['value'])} {r['unit']}",
                    f"{r['peer']} {_number(r['peer_value'])}",
                    f"{r['ratio']:.2f}x",
                    r["goal"],
                    "-" if r["met"] is None else "met" if r["met"] else "NOT met",
                ]
            )
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *lines, strict=False)]
    out = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("-|-".join("-" * w for w in widths))
    out += [
        " | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)) for line in lines
    ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[0])
    names = argv[1:] or sorted(p.stem for p in folder.glob("*.json"))
    results: dict[str, list[dict] | None] = {}
    for name in names:
        path = folder / f"{name}.json"
        results[name] = json.loads(path.read_text()) if path.exists() else None
    judged = [r["met"] for rows in results.values() if rows for r in rows if r["met"] is not None]
    met, total = sum(judged), len(judged)
    print("\n== make bench: every goal beside its peer or limit, measured in the same run ==")
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; cores: {os.cpu_count()};"
        f" load average before the summary: {os.getloadavg()[0]:.2f}"
    )
    print(table(results))
    print(f"{met} of {total} goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
