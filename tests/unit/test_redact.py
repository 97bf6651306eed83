"""The one redactor (cockpit/redact.py): every form of credential the issue "Nothing escapes" found, positive and
negative, in text and in structures; and that the audit log, the recording and the screen all use it."""

from __future__ import annotations

import json
import time

import pytest

from cockpit.redact import REDACTED, is_secret_key, is_secret_name, redact_text, redact_value

OPENSSH_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDsecretsecretsecretsecretsecretsecretsecretAAAAAA==\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    "text, secret",
    [
        (OPENSSH_KEY, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75\n-----END RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA75"),
        ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIDk\n-----END EC PRIVATE KEY-----", "MHcCAQEEIDk"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", "MIIEvQIBADANBg"),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhk\n-----END ENCRYPTED PRIVATE KEY-----",
         "MIIFHDBOBgkqhk"),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBGX\n-----END PGP PRIVATE KEY BLOCK-----", "lQOYBGX"),
        ("key cut short: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt", "b3BlbnNzaC1rZXkt"),
        ("oauth client_secret=s3cr3tValue&grant_type=client_credentials", "s3cr3tValue"),
        ("GET /v1?apikey=abcd1234efgh", "abcd1234efgh"),
        ("api_key: zyx987", "zyx987"),
        ("api-key=zyx987", "zyx987"),
        ("https://api.example.com/x?access_token=ya29.a0AfH6SM", "ya29.a0AfH6SM"),
        ("curl -d token=t0k3n-value", "t0k3n-value"),
        ("Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
        ("Authorization: Bearer abc.def.ghi-jkl", "abc.def.ghi-jkl"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ('{"Authorization": "Bearer rawTokenWithoutDigits"}', "rawTokenWithoutDigits"),
        ("Proxy-Authorization: Basic Zm9vOmJhcg==", "Zm9vOmJhcg=="),
        ("x-api-key: 0123456789abcdef", "0123456789abcdef"),
        ("X-Environment-Key: ser.Kx7pQ2abcdEFGH", "ser.Kx7pQ2abcdEFGH"),
        ("Cookie: session=abcdef123456", "abcdef123456"),
        ("auth=c2VjcmV0 basic_auth: u1:p1 basicAuth: z1", "c2VjcmV0"),
        ("DB_PASSWORD=hunter2-db", "hunter2-db"),
        ("export POSTGRES_PASSWORD='pa ss word'", "pa ss word"),
        ("JWT_SECRET=verysecret", "verysecret"),
        ("GITHUB_TOKEN=abcdef", "abcdef"),
        ("STRIPE_KEY=sk_test_xyz", "sk_test_xyz"),
        ("helm upgrade --set db.password=hunter2", "hunter2"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("the key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY leaked", "wJalrXUtnFEMI"),
        ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("postgres://app:s3cr3t-in-url@catalog-db-rw:5432/app", "s3cr3t-in-url"),
        ("fatal: unable to access 'https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/a/b'",
         "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
        ("https://flags.acme.io/api/v1/flags/?environment_key=Kx7pQ2abcdEFGHij", "Kx7pQ2abcdEFGHij"),
        ("https://flags.acme.io/api/v1/flags/?environment=Kx7pQ2abcdEFGHij", "Kx7pQ2abcdEFGHij"),
        ("https://bucket.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123&X-Amz-Security-Token=FwoGZX",
         "abcdef0123"),
        ("https://bucket.s3.amazonaws.com/k?X-Amz-Security-Token=FwoGZXIvYXdzE", "FwoGZXIvYXdzE"),
        ("id token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl",
         "eyJzdWIiOiJzeXN0ZW06c2EifQ"),
        ("slack xoxb-123456789012-abcdefghij", "xoxb-123456789012-abcdefghij"),
        ("glpat-abcdefghijklmnopqrstu", "glpat-abcdefghijklmnopqrstu"),
        ('"name": "DB_PASSWORD", "value": "hunter2"', "hunter2"),
        ('{"value": "hunter2", "name": "API_TOKEN"}', "hunter2"),
        ("env:\n- name: DB_PASSWORD\n  value: hunter2\n- name: LOG_LEVEL\n  value: info", "hunter2"),
        ("headers:\n- key: Authorization\n  value: Bearer-xyz", "Bearer-xyz"),
        ('{\\"password\\":\\"esc aped\\"}', "esc aped"),
    ],
)
def test_text_secrets_are_masked(text: str, secret: str) -> None:
    masked = redact_text(text)
    assert secret not in masked, masked
    assert REDACTED in masked
    assert redact_text(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "passwordPolicy: strict",
        "secretName: catalog-db-app",
        "tokenTTL=3600",
        "Basic authentication failed",
        "the bearer token expired",
        "POSTGRES_PASSWORD_FILE=/run/secrets/pg",
        "commit 0123456789abcdef0123456789abcdef01234567 reverts 89abcdef0123456789abcdef0123456789abcdef",
        "ssh://git@github.com/acme/gitops.git",
        "https://prometheus.monitoring:9090/api/v1/query?query=up",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUB\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ\n-----END PUBLIC KEY-----",
        "env:\n- name: LOG_LEVEL\n  value: info",
        '{"name": "AWS_ACCESS_KEY_ID_FILE", "value": "/x"}',
        "rollout catalog aborted at step 3; image ghcr.io/acme/catalog:v1.5.1",
        "kind: Secret",
        "author: alice",
        "Prometheus at http://127.0.0.1:9/unauth: HTTP 401 unauthorized (check the token)",
        "oauth: enabled",
    ],
)
def test_innocent_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_keys_and_names() -> None:
    for key in ("password", "db_password", "clientSecret", "client_secret", "x-api-key", "X-Environment-Key",
                "apiKey", "access_token", "Authorization", "aws_secret_access_key", "privateKey", "Cookie"):
        assert is_secret_key(key), key
    for key in ("secretName", "tokenTTL", "passwordPolicy", "name", "value", "resourceVersion", "secretRef",
                "automountServiceAccountTokenX", "keyId"):
        assert not is_secret_key(key), key
    for name in ("DB_PASSWORD", "API_TOKEN", "JWT_SECRET", "STRIPE_KEY", "dbPassword", "db.password", "DB_PASS",
                 "AWS_SECRET_ACCESS_KEY", "X-Api-Key", "Authorization"):
        assert is_secret_name(name), name
    for name in ("LOG_LEVEL", "PASSWORD_FILE", "TOKEN_TTL", "SECRET_NAME", "passwordPolicy", "AWS_ACCESS_KEY_ID",
                 "BYPASS_CACHE", "AUTHOR"):
        assert not is_secret_name(name), name


def test_pod_template_env_values_are_masked_value_from_is_kept() -> None:
    template = {"spec": {"containers": [{"name": "catalog", "env": [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "catalog-api", "key": "token"}}},
        {"name": "PGPASSWORD", "value": ""},
    ]}]}}
    env = redact_value(template)["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "DB_PASSWORD", "value": REDACTED}
    assert env[1] == {"name": "LOG_LEVEL", "value": "info"}
    assert env[2] == template["spec"]["containers"][0]["env"][2]  # a reference, not a secret
    assert env[3] == {"name": "PGPASSWORD", "value": ""}
    assert template["spec"]["containers"][0]["env"][0]["value"] == "hunter2"  # the input is not touched


def test_structures() -> None:
    value = {
        "kind": "Secret", "metadata": {"name": "db", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                {"kind": "Secret", "stringData": {"password": "applied-secret"}})}},
        "data": {"password": "aHVudGVyMg=="},
        "headers": [["X-Api-Key", "k-123"], ["Accept", "application/json"]],
        "webHeaders": [{"key": "Authorization", "value": "Token abc"}, {"key": "Accept", "value": "json"}],
        "patch": [{"op": "add", "path": "/data/client_secret", "value": "cs-1"},
                  {"op": "test", "path": "/metadata/resourceVersion", "value": "12"}],
        "helm": {"parameters": [{"name": "db.password", "value": "p4ss"}, {"name": "replicas", "value": "3"}]},
        "pin": {"password": 123456},
        "nested": "ssh key " + OPENSSH_KEY,
        "tuple": ("token=abc",),
        "bytes": b"password=hunter2",
    }
    out = redact_value(value)
    text = json.dumps(out)
    for leaked in ("applied-secret", "aHVudGVyMg==", "k-123", "Token abc", "cs-1", "p4ss", "123456",
                   "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "abc\"", "hunter2"):
        assert leaked not in text, leaked
    assert out["data"] == {"password": REDACTED}
    assert out["headers"][1] == ["Accept", "application/json"]
    assert out["webHeaders"][1] == {"key": "Accept", "value": "json"}
    assert out["patch"][1]["value"] == "12"
    assert out["helm"]["parameters"][1] == {"name": "replicas", "value": "3"}


def test_innocent_structures_are_kept() -> None:
    value = {"secretName": "catalog-db-app", "automountServiceAccountToken": True, "tokenTTL": 3600,
             "message": "Basic authentication failed", "password": "", "passwordSecret": {"name": "x"},
             "passwordPolicy": "strict",
             "s3Credentials": {"secretAccessKey": {"name": "pg-backup-creds", "key": "ACCESS_SECRET_KEY"}},
             "annotation": '{"replicas": 3}', "list": [1, 2.5, None, False]}
    assert redact_value(value) == value


def test_depth_is_bounded_and_nothing_unexamined_is_kept() -> None:
    deep: object = "password=hunter2"
    for _ in range(5000):
        deep = [deep]
    text = json.dumps(redact_value(deep))
    assert "hunter2" not in text and REDACTED in text
    nested_json = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError: kept as text, no crash
    assert redact_value("token " + nested_json) == "token " + nested_json


def test_hostile_text_is_linear() -> None:
    started = time.perf_counter()
    for text in ("a" * 200_000, "A1/" * 70_000, "password" * 25_000, "x=" * 100_000, "-----BEGIN RSA PRIVATE KEY-----"
                 + "A" * 200_000, "https://" + "a" * 100_000, '"name": "' * 20_000):
        redact_text(text)
    assert time.perf_counter() - started < 10  # generous: quadratic backtracking would take minutes


def test_every_sink_uses_the_one_redactor() -> None:
    from cockpit.actions import audit
    from cockpit.recording import format as recording_format
    from cockpit.sources.errors import ErrorKind, SourceError
    from cockpit.textsafe import clean

    sample = {"env": [{"name": "DB_PASSWORD", "value": "hunter2"}], "note": "client_secret=abc"}
    assert audit.redact(sample) == recording_format.redact(sample) == redact_value(sample)
    assert audit.REDACTED == recording_format.REDACTED == REDACTED
    assert "hunter2" not in clean('{"name": "DB_PASSWORD", "value": "hunter2"}')
    err = SourceError(ErrorKind.UNREACHABLE, "flag provider at https://f.io/?environment_key=abcd1234 unreachable")
    assert "abcd1234" not in str(err)


def _json(value: object) -> str:
    import msgspec

    return msgspec.json.encode(value).decode("utf-8")


def test_the_plain_data_check_never_lets_a_secret_through() -> None:
    """``json_needs_redaction`` lets the recorder skip the walk for rows no rule can touch.  Every secret of the
    cases above, in a value, as a key, as an entry name (also with separators inside the word), needs the walk;
    and over thousands of random structures built from trigger fragments, whatever it calls plain, the
    redactor leaves as it is."""
    import random

    from cockpit.redact import json_needs_redaction

    cases = [text for text, _ in test_text_secrets_are_masked.pytestmark[0].args[1]]
    for text in cases:
        for value in ({"message": text}, [text], {"name": "x", "note": text}):
            assert json_needs_redaction(_json(value)), value
    for key in ("password", "to-ken", "pass.word", "api key", "client_secret", "Cookie", "AUTH"):
        assert json_needs_redaction(_json({key: "v"})), key
        assert json_needs_redaction(_json({"name": key.upper(), "value": "v"})), key
    assert json_needs_redaction(_json({"kind": "Secret", "data": {"a": "b"}}))
    assert json_needs_redaction(_json({"k\nx": "v"})) and json_needs_redaction(_json({"paſſword": "v"}))
    assert not json_needs_redaction(_json({"name": "hourly-tenant-002-20261202131713-00002", "errors": 0,
                                           "included_namespaces": ["tenant-002"], "phase": "Completed"}))

    rng = random.Random(12)
    fragments = ["pa", "ss", "word", "to", "ken", "-", "_", ".", " ", "sec", "ret", "key", "au", "th", "Bear", "er",
                 "eyJ", "AKIA", "://", "@", "=", ":", "name", "value", "op", "path", "/", "kind", "Secret", "data",
                 "x", "1", "A" * 20, "b" * 21, "\n", "ſ", "é", "\\", '"', "{", "}", "ghp_", "live", "sig"]

    def text() -> str:
        return "".join(rng.choice(fragments) for _ in range(rng.randint(0, 6)))

    def build(depth: int = 0) -> object:
        pick = rng.random()
        if depth > 3 or pick < 0.4:
            return text()
        if pick < 0.7:
            return {text(): build(depth + 1) for _ in range(rng.randint(0, 4))}
        return [build(depth + 1) for _ in range(rng.randint(0, 3))]

    plain_seen = 0
    for _ in range(4000):
        value = build()
        if not json_needs_redaction(_json(value)):
            plain_seen += 1
            assert redact_value(value) == value, value
    assert plain_seen > 300  # the check does say "plain" often enough to matter
