"""Provision a stack's database in one process (each ``flask`` start costs seconds on a
busy machine): the project's own CLI commands, invoked through Flask's CLI runner in
the order an operator would type them.  Reads ``{"users": [...], "password": ...,
"credits": N, "app": [...create options...]}`` on stdin; prints the app's JSON."""

from __future__ import annotations

import json
import sys

from idp import create_app


def main() -> int:
    spec = json.load(sys.stdin)
    runner = create_app().test_cli_runner()

    def flask(*args: str) -> str:
        result = runner.invoke(args=list(args))
        if result.exit_code:
            sys.stderr.write(f"flask {' '.join(args[:2])}: {result.output}\n")
            raise SystemExit(1)
        return result.output

    flask("db", "upgrade")
    flask("keys", "ensure")
    app = flask("apps", "create", *spec["app"], "--json")
    for email in spec["users"]:
        flask("users", "create", "--email", email, "--password", spec["password"], "--verified")
        flask("wallet", "grant", "--email", email, "--credits", str(spec["credits"]),
              "--reason", "soak")  # fmt: skip
    sys.stdout.write(app[app.index("{") :])
    return 0


if __name__ == "__main__":
    sys.exit(main())
