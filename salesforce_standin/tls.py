"""Throwaway TLS material: a CA made by `trustme` and a server certificate it signs for
127.0.0.1 and localhost.

simple-salesforce builds every URL as https://, so the stand-in must speak TLS; clients
trust it through the CA file (`REQUESTS_CA_BUNDLE`, or a requests Session's `verify`),
never by turning verification off, so the code under test keeps its real TLS settings.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import trustme


class Certificates:
    """A fresh CA and server certificate written to a private temporary directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self._owned = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="salesforce-standin-")) if directory is None else directory
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="org360 Salesforce stand-in")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = self.directory / "standin-ca.pem"
        self.server_pem_path = self.directory / "standin-server.pem"  # key + chain
        ca.cert_pem.write_to_path(str(self.ca_path))
        leaf.private_key_and_cert_chain_pem.write_to_path(str(self.server_pem_path))
        self.server_pem_path.chmod(0o600)

    def remove(self) -> None:
        """Delete the files (only when this object made the directory)."""
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)
