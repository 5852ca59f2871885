"""`python -m odata_service [--host H] [--port P] [--database-url URL] [--workers N]`.

The same as `org360 odata serve`; the benchmark starts the server this way.
"""

import argparse

from odata_service.cli import serve

parser = argparse.ArgumentParser(prog="python -m odata_service")
parser.add_argument("--host")
parser.add_argument("--port", type=int)
parser.add_argument("--database-url")
parser.add_argument(
    "--workers", type=int, help="processes (default: $WEB_CONCURRENCY, else one per CPU)"
)
arguments = parser.parse_args()
serve(arguments.host, arguments.port, arguments.database_url, arguments.workers)
