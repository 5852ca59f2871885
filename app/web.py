"""One web process for both HTTP services, as a Heroku `web` dyno needs: requests under
`/odata` go to the OData service, everything else to the archive API.

Each service keeps its own app, routes, error format and authentication; this only
dispatches by path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


def dispatch(odata: ASGIApp, archive: ASGIApp) -> ASGIApp:
    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        target = odata if path == "/odata" or path.startswith("/odata/") else archive
        await target(scope, receive, send)

    return app


def serve(host: str | None, port: int | None, config_path: str | None) -> None:
    """Serve both services until interrupted, where `core.listen.listen_address` says."""
    import uvicorn

    from archive_service.api import create_app as archive_app
    from archive_service.cli import require_schema
    from archive_service.config import Runtime
    from core.listen import listen_address
    from odata_service.app import create_app as odata_app
    from odata_service.settings import ODataSettings
    from service_auth import ApiCredentials

    runtime = Runtime.load(config_path)
    try:
        require_schema(runtime)
        credentials = ApiCredentials.from_env()
        credentials.validate()
        app = dispatch(
            odata_app(ODataSettings.from_env(runtime.database_url)),
            archive_app(runtime, credentials),
        )
        host, port = listen_address(host, port)
        # The apps' own lifespans only release resources at exit, which the process does.
        uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off")
    finally:
        runtime.close()
