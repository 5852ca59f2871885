"""Settings of the OData service, built by the CLI (or a test) and injected into the app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from service_auth import ApiCredentials

MAX_PAGE_SIZE = 2000  # Salesforce Connect accepts at most 2,000 rows per page
COUNT_TTL_VAR = "ORG360_ODATA_COUNT_TTL"
POOL_SIZE_VAR = "ORG360_ODATA_POOL_SIZE"
PUBLIC_METADATA_VAR = "ORG360_ODATA_PUBLIC_METADATA"


@dataclass(frozen=True)
class ODataSettings:
    database_url: str
    credentials: ApiCredentials
    page_size: int = MAX_PAGE_SIZE
    count_ttl_seconds: float = 30.0
    pool_size: int = 10
    statement_timeout_ms: int = 60_000
    # `$metadata` without credentials (schema only, no data): for tools that cannot
    # authenticate, such as the CSDL checker. Off by default.
    public_metadata: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")

    @classmethod
    def from_env(cls, database_url: str, environ: Mapping[str, str] | None = None) -> ODataSettings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=database_url,
            credentials=ApiCredentials.from_env(env),
            count_ttl_seconds=float(env.get(COUNT_TTL_VAR, "30")),
            pool_size=int(env.get(POOL_SIZE_VAR, "10")),
            public_metadata=env.get(PUBLIC_METADATA_VAR, "").lower() in ("1", "true", "yes"),
        )
