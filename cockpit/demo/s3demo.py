"""The demo's S3: moto's server over HTTP on 127.0.0.1 with a versioned bucket of customer uploads.

The no-deploy scenarios need real S3 semantics (versions, delete markers, ``ListObjectVersions`` pagination,
``DeleteObject`` of a version id), so the demo runs moto's S3 in server mode -- the same server the tests use --
and talks to it with boto3 over HTTP, exactly like the cockpit does.  moto is an optional dependency (the
``demo`` extra): without it :func:`start_server` raises :class:`S3Unavailable` with the command that installs it.

moto keeps its buckets in process-global state, so :func:`seed` first empties a bucket left by an earlier
platform in the same process, and :func:`purge` removes it again on the way out.  moto stamps every version with
the wall clock: the delete markers read "deleted just now", whatever the story says.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

BUCKET = "acme-books-customer-uploads"
PREFIX = "tenants/acme-books/covers/"
REGION = "us-east-1"
DEMO_ACCESS_KEY = "demo"  # moto accepts any credentials; these never leave 127.0.0.1
DEMO_SECRET_KEY = "demo-secret"

COVERS = (
    "9780141439518", "9780143105428", "9780199535569", "9780307387899", "9780375704024", "9780451524935",
    "9780553380163", "9780679720201", "9780743273565", "9780812981605", "9781400033416", "9781594631931",
)
DELETED = COVERS[2:7]  # what the cleanup script removed: five covers of the tenant's live catalogue
RE_UPLOADED = COVERS[9]  # deleted by an earlier run and uploaded again: its marker is no longer the latest


class S3Unavailable(RuntimeError):
    """moto (the demo's S3 server) cannot run here; the message says how to install it."""


@dataclass
class S3Demo:
    server: Any
    endpoint: str
    bucket: str = BUCKET
    prefix: str = PREFIX

    def client(self) -> Any:
        return client(self.endpoint)

    def stop(self) -> None:
        try:
            purge(self.client(), self.bucket)
        except Exception:  # noqa: BLE001 - the server may already be gone
            pass
        try:
            self.server.stop()
        except Exception:  # noqa: BLE001
            pass


def start_server() -> S3Demo:
    """moto's S3 on a free port of 127.0.0.1."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as err:
        raise S3Unavailable(
            f"moto is not installed ({err.name or err}): the demo's S3 is moto's server. "
            "Install the demo extra: pip install -e '.[demo]' (make demo does it)"
        ) from None
    import logging

    # werkzeug logs every request to stderr (its own handler), which would scribble over the full-screen TUI
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return S3Demo(server, f"http://{host}:{port}")


def client(endpoint: str) -> Any:
    """A boto3 S3 client for the demo's endpoint (path-style, short timeouts, the demo's own credentials)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=config,
                        aws_access_key_id=DEMO_ACCESS_KEY, aws_secret_access_key=DEMO_SECRET_KEY)


def _cover(isbn: str, version: int = 1) -> bytes:
    """A small stand-in for a JPEG: the magic bytes and a body that differs per object and version."""
    return b"\xff\xd8\xff\xe0" + hashlib.sha256(f"{isbn}/{version}".encode()).digest() * 16 + b"\xff\xd9"


def purge(s3: Any, bucket: str) -> None:
    """Delete every version and marker, then the bucket (no-op when it does not exist)."""
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            doomed = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                      for kind in ("Versions", "DeleteMarkers") for item in page.get(kind, ())]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
    except Exception as err:  # noqa: BLE001
        code = getattr(err, "response", {}).get("Error", {}).get("Code")
        if code not in ("NoSuchBucket", "404"):
            raise


def seed(s3: Any, bucket: str = BUCKET, prefix: str = PREFIX, *, cleanup_ran: bool = True) -> dict[str, Any]:
    """The tenant's covers in a versioned bucket; with ``cleanup_ran`` five of them deleted (markers on top).

    Returns what was seeded: {"objects": [...keys], "deleted": [...keys]}.
    """
    purge(s3, bucket)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    keys = [f"{prefix}{isbn}.jpg" for isbn in COVERS]
    for isbn, key in zip(COVERS, keys, strict=True):
        s3.put_object(Bucket=bucket, Key=key, Body=_cover(isbn), ContentType="image/jpeg",
                      Metadata={"uploaded-by": "acme-books-cms"})
    # an older cover replaced by the publisher: two real versions under one key
    s3.put_object(Bucket=bucket, Key=keys[0], Body=_cover(COVERS[0], 2), ContentType="image/jpeg")
    s3.put_object(Bucket=bucket, Key=f"{prefix}manifest.json", Body=b'{"covers": %d}' % len(COVERS),
                  ContentType="application/json")
    # an earlier cleanup deleted this one and the CMS uploaded it again: its marker is not the latest version
    reupload = f"{prefix}{RE_UPLOADED}.jpg"
    s3.delete_object(Bucket=bucket, Key=reupload)
    s3.put_object(Bucket=bucket, Key=reupload, Body=_cover(RE_UPLOADED, 2), ContentType="image/jpeg")
    deleted = []
    if cleanup_ran:
        for isbn in DELETED:
            key = f"{prefix}{isbn}.jpg"
            s3.delete_object(Bucket=bucket, Key=key)
            deleted.append(key)
    return {"objects": keys, "deleted": deleted}


def deleted_keys(s3: Any, bucket: str = BUCKET, prefix: str = PREFIX) -> int:
    """Keys under ``prefix`` whose latest version is a delete marker (what reads as deleted now)."""
    count = 0
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        count += sum(1 for marker in page.get("DeleteMarkers", ()) if marker.get("IsLatest"))
    return count
