"""S3 undelete against a real S3 API over HTTP (moto server mode): the versions listing as preview, the listing
as dry-run, ``DeleteObject`` of the delete marker's version id, and the object readable again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cockpit.actions import s3
from cockpit.actions.gateway import Outcome
from cockpit.actions.requests import ActionRefused, Risk
from tests.plugins.actions import audit_log, clock, gateway  # noqa: F401 - fixtures

BUCKET = "acme-books-uploads"
KEY = "tenants/acme-books/covers/978-0131103627.jpg"


def _deleted_object(client, key=KEY):
    client.put_object(Bucket=BUCKET, Key=key, Body=b"cover v1")
    client.put_object(Bucket=BUCKET, Key=key, Body=b"cover v2")
    client.delete_object(Bucket=BUCKET, Key=key)
    versions = client.list_object_versions(Bucket=BUCKET, Prefix=key)
    return versions["DeleteMarkers"][0]["VersionId"], [v["VersionId"] for v in versions["Versions"]]


def test_undelete_removes_the_delete_marker(s3_server, gateway, audit_log):
    client = s3_server.make_versioned_bucket(BUCKET)
    marker, _ = _deleted_object(client)
    with pytest.raises(client.exceptions.ClientError):
        client.get_object(Bucket=BUCKET, Key=KEY)

    now = datetime.now(timezone.utc) + timedelta(minutes=5)
    action = s3.undelete(client, BUCKET, KEY, endpoint=s3_server.endpoint_url, now=now)
    assert action.risk is Risk.DESTRUCTIVE and action.confirm_word == "978-0131103627.jpg"
    assert "DELETE MARKER" in action.preview and "(latest)" in action.preview and "5m ago" in action.preview
    (write,) = action.writes
    assert (write.bucket, write.key, write.version_id) == (BUCKET, KEY, marker)
    planned = gateway.plan(action)
    assert planned.command == (f"aws s3api delete-object --bucket {BUCKET} --key {KEY} --version-id {marker} "
                               f"--endpoint-url {s3_server.endpoint_url}")
    check = gateway.preflight(planned)
    assert check.ok and "delete marker is the latest version" in check.dry_run[0].summary

    result = gateway.execute(planned, "alice", typed="978-0131103627.jpg")

    assert result.ok, result.message
    assert client.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"cover v2"
    remaining = client.list_object_versions(Bucket=BUCKET, Prefix=KEY)
    assert "DeleteMarkers" not in remaining and len(remaining["Versions"]) == 2  # no data copied or lost
    before, after = audit_log.records()
    assert before["request"] == {"backend": "s3", "operation": "DeleteObject", "endpoint": s3_server.endpoint_url,
                                 "bucket": BUCKET, "key": KEY, "version_id": marker}
    assert after["outcome"] == "ok"


def test_prefix_restore_brings_back_every_deleted_key(s3_server, gateway):
    client = s3_server.make_versioned_bucket(BUCKET)
    for name in ("a.jpg", "b.jpg"):
        _deleted_object(client, f"tenants/acme-books/covers/{name}")
    client.put_object(Bucket=BUCKET, Key="tenants/acme-books/covers/c.jpg", Body=b"still here")
    action = s3.undelete(client, BUCKET, "tenants/acme-books/covers/", prefix=True)
    assert len(action.writes) == 2 and action.confirm_word == "covers"
    result = gateway.execute(gateway.plan(action), "alice", typed="covers")
    assert result.ok and result.sent == 2
    for name in ("a.jpg", "b.jpg"):
        assert client.get_object(Bucket=BUCKET, Key=f"tenants/acme-books/covers/{name}")["Body"].read() == b"cover v2"


def test_marker_already_gone_is_a_conflict_and_nothing_is_deleted(s3_server, gateway):
    client = s3_server.make_versioned_bucket(BUCKET)
    marker, versions = _deleted_object(client)
    planned = gateway.plan(s3.undelete(client, BUCKET, KEY))
    client.delete_object(Bucket=BUCKET, Key=KEY, VersionId=marker)  # someone restored it meanwhile
    client.put_object(Bucket=BUCKET, Key=KEY, Body=b"cover v3")
    result = gateway.execute(planned, "alice", typed="978-0131103627.jpg")
    assert result.outcome is Outcome.CONFLICT
    assert len(client.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]) == 3


def test_nothing_to_restore(s3_server):
    client = s3_server.make_versioned_bucket(BUCKET)
    client.put_object(Bucket=BUCKET, Key=KEY, Body=b"fine")
    with pytest.raises(ActionRefused) as err:
        s3.undelete(client, BUCKET, KEY)
    assert err.value.noop
    with pytest.raises(ActionRefused, match="no versions at all"):
        s3.undelete(client, BUCKET, "no/such/key")


def test_read_only_sends_no_s3_request(s3_server, audit_log, clock):
    from cockpit.actions.gateway import Gateway

    client = s3_server.make_versioned_bucket(BUCKET)
    marker, _ = _deleted_object(client)
    gw = Gateway(read_only_reason=lambda context: "replay", audit=audit_log, clock=clock)
    planned = gw.plan(s3.undelete(client, BUCKET, KEY))
    assert gw.execute(planned, "alice", typed="978-0131103627.jpg").outcome is Outcome.REFUSED
    assert client.list_object_versions(Bucket=BUCKET, Prefix=KEY)["DeleteMarkers"][0]["VersionId"] == marker
