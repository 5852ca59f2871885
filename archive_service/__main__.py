"""`python -m archive_service serve|worker`: the same entry points as `org360 archive …`,
usable before they are wired into the org360 CLI (tests start workers this way)."""

from __future__ import annotations

import argparse
import sys

from archive_service import cli
from core.errors import ConfigError
from service_auth import AuthConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archive_service")
    parser.add_argument("--config", help="org360.yaml (default: $ORG360_CONFIG or ./org360.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the archive API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    work = commands.add_parser("worker", help="run an archive worker")
    work.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            cli.serve(args.host, args.port, args.config)
        else:
            cli.worker(args.config, args.concurrency)
    except (ConfigError, AuthConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
