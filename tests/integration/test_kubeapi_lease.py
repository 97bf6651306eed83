"""The emulator serves ``coordination.k8s.io/v1`` Lease like the apiserver: decoded into its Go type (400 on a bad
type or a MicroTime that is not RFC3339Micro), pruned, validated (422 naming the field), unconditional updates
allowed, watchable by name -- checked through the official client's typed API."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from cockpit.demo.kubeapi import KubeEmulator

NS = "bookstore"


def lease(name: str = "cockpit-driver", **spec: Any) -> dict[str, Any]:
    body = {"holderIdentity": "alice@bastion-1/3f9a1c", "leaseDurationSeconds": 120,
            "acquireTime": "2026-11-28T01:55:09.123456Z", "renewTime": "2026-11-28T01:55:09.123456Z",
            "leaseTransitions": 0}
    body.update(spec)
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, "namespace": NS},
            "spec": {k: v for k, v in body.items() if v is not ...}}


def raw(kube_client: Any, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
    response = kube_client.call_api(path, method, header_params={"Content-Type": content_type,
                                                                 "Accept": "application/json"},
                                    body=body, auth_settings=["BearerToken"], _preload_content=False,
                                    _return_http_data_only=True)
    return json.loads(response.data)


PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"


def test_typed_client_creates_reads_updates_and_lists_a_lease(kube_client, kube_emulator: KubeEmulator):
    api = client.CoordinationV1Api(kube_client)
    when = datetime(2026, 11, 28, 1, 55, 9, 123456, tzinfo=timezone.utc)
    created = api.create_namespaced_lease(NS, client.V1Lease(
        metadata=client.V1ObjectMeta(name="cockpit-driver"),
        spec=client.V1LeaseSpec(holder_identity="alice@bastion-1/3f9a1c", lease_duration_seconds=120,
                                acquire_time=when, renew_time=when, lease_transitions=0)))
    assert created.spec.holder_identity == "alice@bastion-1/3f9a1c"
    assert created.spec.acquire_time == when
    assert created.metadata.generation is None  # a Lease has no generation
    # an unconditional update (no resourceVersion) is allowed for a built-in kind
    body = lease(holderIdentity="bob@bastion-2/77aa01", leaseTransitions=1)
    replaced = raw(kube_client, "PUT", f"{PATH}/cockpit-driver", body)
    assert replaced["spec"]["holderIdentity"] == "bob@bastion-2/77aa01"
    assert int(replaced["metadata"]["resourceVersion"]) > int(created.metadata.resource_version)
    # ... and a stale one conflicts
    stale = lease()
    stale["metadata"]["resourceVersion"] = created.metadata.resource_version
    with pytest.raises(ApiException) as err:
        raw(kube_client, "PUT", f"{PATH}/cockpit-driver", stale)
    assert err.value.status == 409
    listed = api.list_namespaced_lease(NS, field_selector="metadata.name=cockpit-driver")
    assert [item.spec.holder_identity for item in listed.items] == ["bob@bastion-2/77aa01"]
    # discovery lists it, so kubectl get leases works
    resources = raw(kube_client, "GET", "/apis/coordination.k8s.io/v1")
    entry = next(entry for entry in resources["resources"] if entry["name"] == "leases")
    assert (entry["kind"], entry["namespaced"], "watch" in entry["verbs"]) == ("Lease", True, True)


@pytest.mark.parametrize("spec, field", [
    ({"leaseDurationSeconds": 0}, "spec.leaseDurationSeconds"),
    ({"leaseDurationSeconds": -5}, "spec.leaseDurationSeconds"),
    ({"leaseTransitions": -1}, "spec.leaseTransitions"),
    ({"strategy": "Newest"}, "spec.strategy.strategy"),
    ({"preferredHolder": "bob"}, "spec.preferredHolder"),
])
def test_validation_refuses_what_validate_lease_spec_refuses(kube_client, spec, field):
    with pytest.raises(ApiException) as err:
        raw(kube_client, "POST", PATH, lease(**spec))
    assert err.value.status == 422
    status = json.loads(err.value.body)
    assert status["reason"] == "Invalid"
    assert [cause["field"] for cause in status["details"]["causes"]] == [field]


@pytest.mark.parametrize("spec, words", [
    ({"acquireTime": "2026-11-28T01:55:09Z"}, "RFC3339Micro"),  # seconds only: MicroTime needs six digits
    ({"renewTime": "2026-11-28T01:55:09.123Z"}, "RFC3339Micro"),
    ({"renewTime": "yesterday"}, "RFC3339Micro"),
    ({"holderIdentity": 7}, "of type string"),
    ({"leaseDurationSeconds": "120"}, "of type int32"),
    ({"leaseDurationSeconds": 2**31}, "of type int32"),
    ({"leaseTransitions": 1.5}, "of type int32"),
])
def test_a_body_that_does_not_decode_is_a_bad_request(kube_client, spec, words):
    with pytest.raises(ApiException) as err:
        raw(kube_client, "POST", PATH, lease(**spec))
    assert err.value.status == 400
    assert words in json.loads(err.value.body)["message"]


def test_unknown_fields_are_pruned_with_a_warning_and_refused_when_strict(kube_client):
    created = raw(kube_client, "POST", PATH, lease(holder="x"))
    assert "holder" not in created["spec"]
    with pytest.raises(ApiException) as err:
        raw(kube_client, "POST", PATH + "?fieldValidation=Strict", lease("other", holder="x"))
    assert err.value.status == 400


def test_offset_times_and_null_fields_decode(kube_client):
    created = raw(kube_client, "POST", PATH, lease(acquireTime="2026-11-28T02:55:09.000000+01:00",
                                                   renewTime=None, holderIdentity=None))
    assert created["spec"]["acquireTime"] == "2026-11-28T02:55:09.000000+01:00"
    assert "renewTime" not in created["spec"] and "holderIdentity" not in created["spec"]


def test_rbac_denial_of_leases_is_a_403_and_an_access_review_no(kube_client, kube_emulator: KubeEmulator):
    kube_emulator.deny("*", "leases.coordination.k8s.io", NS)
    with pytest.raises(ApiException) as err:
        raw(kube_client, "POST", PATH, lease())
    assert err.value.status == 403
    review = raw(kube_client, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "create", "group": "coordination.k8s.io", "resource": "leases",
                                        "namespace": NS}}})
    assert review["status"]["allowed"] is False
