"""``s3_server``: a real S3 API (moto in server mode) over HTTP on 127.0.0.1, for the sources that read S3.

One moto server per test session (it starts in milliseconds, but the first import of its Flask app does not);
each test gets a clean slate through moto's reset endpoint, so bucket names never leak between tests.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class S3Server:
    endpoint_url: str
    region: str = "us-east-1"

    def client(self) -> Any:
        """A boto3 client for seeding data (path-style, short timeouts)."""
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"}
        )
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config)

    def make_versioned_bucket(self, name: str) -> Any:
        """Create ``name`` with versioning enabled; returns the seeding client."""
        client = self.client()
        client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return client

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_server(_moto_server: str) -> Iterator[S3Server]:
    """A clean S3 endpoint for this test; everything created in it is wiped afterwards."""
    server = S3Server(_moto_server)
    try:
        yield server
    finally:
        server.reset()
