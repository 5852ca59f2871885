"""`python -m salesforce_standin`: run a stand-in in the foreground.

Prints one JSON line on stdout once it accepts connections -- {"url", "ca_path",
"admin_token", "org_id", "login_url"} -- then serves until SIGTERM or SIGINT. Records,
fields and faults are set through the admin endpoints (see `admin`).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from salesforce_standin.org import StandinOrg
from salesforce_standin.runner import StandinServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m salesforce_standin", description="A stand-in Salesforce over HTTPS."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--org-id", default="00D000000000001AAA")
    parser.add_argument("--user", help="username for SOAP login")
    parser.add_argument("--password", default="")
    parser.add_argument("--token", default="", help="the user's security token")
    currency = parser.add_mutually_exclusive_group()
    currency.add_argument(
        "--multi-currency", dest="multi_currency", action="store_true", default=True
    )
    currency.add_argument("--single-currency", dest="multi_currency", action="store_false")
    parser.add_argument("--login-url", help="the `aud` JWT assertions must carry")
    parser.add_argument(
        "--jwt-client",
        action="append",
        default=[],
        metavar="KEY=PEMFILE=USERNAME",
        help="a JWT bearer connected app (public key or certificate file)",
    )
    parser.add_argument(
        "--client-credentials",
        action="append",
        default=[],
        metavar="KEY:SECRET",
        help="a client-credentials connected app",
    )
    parser.add_argument("--api-requests", type=int, help="daily API request allowance")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    org = StandinOrg(org_id=args.org_id, multi_currency=args.multi_currency)
    if args.api_requests is not None:
        org.api_requests = (args.api_requests, args.api_requests)
    server = StandinServer(org, login_url=args.login_url, host=args.host, port=args.port)
    if args.user:
        server.add_user(args.user, args.password, args.token)
    for spec in args.jwt_client:
        key, pem_file, username = spec.split("=", 2)
        server.add_jwt_client(key, Path(pem_file).read_bytes(), username)
    for spec in args.client_credentials:
        key, secret = spec.split(":", 1)
        server.add_client_credentials(key, secret)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    try:
        print(
            json.dumps(
                {
                    "url": server.url,
                    "ca_path": server.ca_path,
                    "admin_token": server.admin_token,
                    "org_id": org.org_id,
                    "login_url": server.login_url,
                }
            ),
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
