"""Evidence for the no-deploy side of the tree: S3 delete markers, and whether a tenant namespace is gone.

When nothing was deployed in the window, the seed's two data-loss cases are a customer's S3 objects deleted
(a cleanup script, a bad prefix) and a whole namespace gone.  In a versioned bucket a delete only puts a
*delete marker* on top of the object's versions; while the marker is the latest version the object reads as
missing, and removing the marker brings the previous version back (data-rollback-s3-versioning).  So "were
customer objects deleted in the last N hours?" is "are there delete markers, newer than N hours, that are
still the latest version of their key?" -- one ``ListObjectVersions`` walk.

boto3 is imported when an ``S3Source`` is built (on the main thread: clients are thread-safe, sessions are
not), with the house timeouts.  Keys are untrusted and may contain any character: botocore asks for
``EncodingType=url`` and decodes the keys, so XML-hostile characters survive the round trip.

Every ListObjectVersions request has a total deadline (``REQUEST_SECONDS``: connect, headers, body; botocore
itself only bounds each read) and the walk one more (``WALK_SECONDS``); a page is read up to
``limits.MAX_S3_PAGE_BYTES`` and the walk stops after ``limits.MAX_S3_PAGES`` pages or ``MAX_VERSIONS`` entries
(the answer then says it is partial).  Both hooks use botocore's own HTTP session: its pool classes are wrapped
(:func:`cockpit.sources.limits.install`) and a ``before-send`` handler sends the request and reads the body
itself, bounded, before botocore parses it.

The namespace check is here too because it is the other half of the same question; it is pure, fed the
Namespace object (or None) that the Kubernetes source read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from cockpit.sources import limits
from cockpit.sources.errors import ErrorKind, SourceError
from cockpit.timefmt import parse_time

MAX_VERSIONS = 100_000  # stop a walk over a huge prefix here and say the answer is partial
REQUEST_SECONDS = 30.0  # one ListObjectVersions page, in total
WALK_SECONDS = 120.0  # the whole walk, every page


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    last_modified: datetime | None
    is_latest: bool
    is_delete_marker: bool
    size: int | None  # None for delete markers
    etag: str


@dataclass(frozen=True)
class DeleteMarker:
    key: str
    version_id: str
    last_modified: datetime | None
    is_latest: bool  # True: the object reads as deleted right now
    previous_version_id: str  # the newest real version under the marker ("" = nothing to restore)


@dataclass(frozen=True)
class S3Evidence:
    bucket: str
    prefix: str
    since: datetime
    markers: tuple[DeleteMarker, ...]  # created at or after ``since``, newest first
    scanned: int  # versions and markers looked at
    truncated: bool  # stopped at MAX_VERSIONS: the answer may be incomplete
    endpoint: str = ""

    @property
    def missing(self) -> tuple[DeleteMarker, ...]:
        """Markers that are still the latest version: objects that read as deleted now."""
        return tuple(marker for marker in self.markers if marker.is_latest)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class S3Source:
    """Reads object versions from one S3 endpoint (AWS, MinIO, moto)."""

    def __init__(
        self,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        *,
        profile: str | None = None,
        addressing_style: str | None = None,
        connect_timeout: float = 3,
        read_timeout: float = 10,
        max_attempts: int = 2,
    ) -> None:
        from cockpit.sources import IMPORT_LOCK

        with IMPORT_LOCK:
            import boto3
            from botocore.config import Config

        style = addressing_style or ("path" if endpoint_url else "auto")
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts},
            s3={"addressing_style": style},
        )
        session = boto3.session.Session(profile_name=profile, region_name=region)
        self.endpoint_url = endpoint_url or ""
        self.client = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._where = f"S3 at {endpoint_url}" if endpoint_url else "S3"
        self._http = _bound_http_session(self.client)
        self.client.meta.events.register("before-send.s3.ListObjectVersions", self._bounded_send)

    def _bounded_send(self, request: Any, **_: Any) -> Any:
        """Send one page request through botocore's session and read its body, bounded in time and size."""
        from botocore.awsrequest import AWSResponse

        what = f"{self._where} (a ListObjectVersions page)"
        with limits.Deadline(REQUEST_SECONDS, what) as deadline:
            deadline.check()
            request.stream_output = True  # botocore's send() leaves the body to us
            try:
                response = self._http.send(request)
            except Exception:
                if deadline.fired:
                    raise deadline.error() from None
                raise
            body = limits.read_body(response.raw, limit=limits.MAX_S3_PAGE_BYTES, what=f"a page from {self._where}",
                                    deadline=deadline, decode_content=False)
        return AWSResponse(request.url, response.status_code, response.headers, _Body(body))

    def _walk(self, bucket: str, prefix: str, limit: int) -> tuple[list[ObjectVersion], bool]:
        """Every version and delete marker under ``prefix``, newest first within each key."""
        found: list[ObjectVersion] = []
        truncated = False
        try:
            with limits.Deadline(WALK_SECONDS, f"{self._where} (listing {bucket})"):
                paginator = self.client.get_paginator("list_object_versions")
                for pages, page in enumerate(paginator.paginate(Bucket=bucket, Prefix=prefix), start=1):
                    for raw in page.get("Versions", ()):
                        found.append(_version(raw, marker=False))
                    for raw in page.get("DeleteMarkers", ()):
                        found.append(_version(raw, marker=True))
                    if len(found) >= limit or pages >= limits.MAX_S3_PAGES:
                        truncated = True
                        break
        except Exception as err:  # noqa: BLE001 -- mapped to words below, never leaked as a botocore type
            raise _source_error(err, bucket) from None
        # By key, then newest first; S3 lists versions and markers apart, so merge them on time, the latest
        # version winning a tie (timestamps can collide at the store's resolution).
        found.sort(key=lambda item: (item.key, not item.is_latest, -_stamp(item.last_modified)))
        return found, truncated

    def object_versions(self, bucket: str, key_or_prefix: str) -> tuple[ObjectVersion, ...]:
        """All versions and delete markers of keys starting with ``key_or_prefix``, by key, newest first."""
        versions, _ = self._walk(bucket, key_or_prefix, MAX_VERSIONS)
        return tuple(versions)

    def delete_markers(self, bucket: str, prefix: str, since: datetime) -> S3Evidence:
        """Delete markers under ``prefix`` created at or after ``since`` (timezone-aware)."""
        since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
        versions, truncated = self._walk(bucket, prefix, MAX_VERSIONS)
        markers: list[DeleteMarker] = []
        for index, item in enumerate(versions):
            if not item.is_delete_marker or item.last_modified is None or item.last_modified < since:
                continue
            previous = next(
                (
                    older.version_id
                    for older in versions[index + 1 :]
                    if older.key == item.key and not older.is_delete_marker
                ),
                "",
            )
            markers.append(DeleteMarker(item.key, item.version_id, item.last_modified, item.is_latest, previous))
        epoch = datetime.min.replace(tzinfo=timezone.utc)
        markers.sort(key=lambda marker: marker.last_modified or epoch, reverse=True)
        return S3Evidence(bucket, prefix, since, tuple(markers), len(versions), truncated, self.endpoint_url)


class _Body:
    """A read body, in the shape botocore's AWSResponse reads (``raw.stream()``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._data


def _bound_http_session(client: Any) -> Any:
    """botocore's HTTP session for ``client``, its connections made to obey deadlines (private attributes of
    botocore's URLLib3Session, checked by the tests: a botocore that renames them fails there, not here)."""
    session = client._endpoint.http_session
    classes = getattr(session, "_pool_classes_by_scheme", None)
    manager = getattr(session, "_manager", None)
    if isinstance(classes, dict) and manager is not None:
        wrapped = limits.deadline_pool_classes(classes)
        session._pool_classes_by_scheme = wrapped
        limits.install(manager)
    return session


def _stamp(when: datetime | None) -> float:
    return when.timestamp() if when is not None else float("-inf")


def _version(raw: dict[str, Any], *, marker: bool) -> ObjectVersion:
    modified = raw.get("LastModified")
    return ObjectVersion(
        key=str(raw.get("Key", "")),
        version_id=str(raw.get("VersionId", "")),
        last_modified=parse_time(modified) if modified is not None else None,
        is_latest=raw.get("IsLatest") is True,
        is_delete_marker=marker,
        size=None if marker else raw.get("Size") if isinstance(raw.get("Size"), int) else None,
        etag=str(raw.get("ETag", "")).strip('"'),
    )


def _source_error(err: Exception, bucket: str) -> SourceError:
    """A botocore exception as a SourceError with the reason in words."""
    from botocore import exceptions as bex

    if isinstance(err, SourceError):  # a deadline, a size limit
        return err
    if isinstance(err, (bex.ConnectTimeoutError, bex.ReadTimeoutError)):
        return SourceError(ErrorKind.TIMEOUT, f"S3 did not answer in time listing {bucket}")
    if isinstance(err, (bex.EndpointConnectionError, bex.ConnectionError)):
        return SourceError(ErrorKind.UNREACHABLE, f"S3 endpoint unreachable: {err}")
    if isinstance(err, (bex.NoCredentialsError, bex.PartialCredentialsError)):
        return SourceError(ErrorKind.AUTH, "no AWS credentials found for S3")
    if isinstance(err, bex.ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(error.get("Message", "")) or code
        if code == "NoSuchBucket":
            return SourceError(ErrorKind.NOT_FOUND, f"bucket {bucket} does not exist", status=status)
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            words = f"not allowed to list versions in {bucket}: {message}"
            return SourceError(ErrorKind.FORBIDDEN, words, status=status)
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken") or status == 401:
            return SourceError(ErrorKind.AUTH, f"S3 refused the credentials: {message}", status=status)
        kind = ErrorKind.SERVER if isinstance(status, int) and status >= 500 else ErrorKind.BAD_DATA
        return SourceError(kind, f"S3 error listing {bucket}: {code} {message}".strip(), status=status)
    if isinstance(err, bex.BotoCoreError):
        return SourceError(ErrorKind.BAD_DATA, f"S3 client error: {err}")
    return SourceError(ErrorKind.BAD_DATA, f"S3 listing failed: {type(err).__name__}: {err}")


# --------------------------------------------------------------------------- namespace


class NamespaceState(str, Enum):
    MISSING = "missing"
    TERMINATING = "Terminating"
    ACTIVE = "Active"
    UNKNOWN = "unknown"  # an object without a phase we recognise


@dataclass(frozen=True)
class NamespaceEvidence:
    name: str
    state: NamespaceState
    deletion_timestamp: datetime | None
    detail: str

    @property
    def gone(self) -> bool | None:
        """True when missing or being deleted, False when Active, None when unclear."""
        if self.state in (NamespaceState.MISSING, NamespaceState.TERMINATING):
            return True
        if self.state is NamespaceState.ACTIVE:
            return False
        return None


def namespace_state(obj: dict[str, Any] | None, name: str = "") -> NamespaceEvidence:
    """The state of a tenant namespace from its Namespace object (None = the API answered 404)."""
    if obj is None:
        return NamespaceEvidence(name, NamespaceState.MISSING, None, f"namespace {name or '(unnamed)'} not found")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else name
    deleting = parse_time(meta.get("deletionTimestamp"))
    phase = status.get("phase")
    if deleting is not None or phase == "Terminating":
        since = f" since {deleting.isoformat()}" if deleting else ""
        return NamespaceEvidence(name, NamespaceState.TERMINATING, deleting, f"namespace {name} is Terminating{since}")
    if phase == "Active":
        return NamespaceEvidence(name, NamespaceState.ACTIVE, None, f"namespace {name} is Active")
    return NamespaceEvidence(name, NamespaceState.UNKNOWN, None, f"namespace {name} has phase {phase!r}")
