"""One process running operator CLI commands read from stdin (one per line, JSON list of
arguments), answering each with a JSON line: the real commands, without paying Python's
and the app's start-up for each."""

import json
import sys

from idp import create_app


def main() -> None:
    runner = create_app().test_cli_runner()
    for line in sys.stdin:
        result = runner.invoke(args=json.loads(line))
        print(json.dumps({"code": result.exit_code, "output": result.output}), flush=True)


if __name__ == "__main__":
    main()
