"""The one redactor: every credential is replaced with ``[REDACTED]`` before a log, a recording or the screen.

Two entry points, one rule set:

* :func:`redact_value` walks a structure (dicts, lists, tuples; bounded depth) and returns a redacted copy;
* :func:`redact_text` masks credential-looking parts of free text (error messages, command lines, request
  bodies shown as text, YAML previews, git's stderr).

What counts as a credential (the rules, in one place):

1. **by key** -- a mapping key or a text ``key=value`` / ``key: value`` / ``"key": "value"`` whose name *ends*
   with a secret word: ``password``, ``passwd``, ``pwd``, ``_pass``, ``secret``, ``token``, ``api_key``/``apikey``,
   ``access_key``, ``private_key``, ``secret_key``, ``session_key``, ``signing_key``, ``encryption_key``,
   ``master_key``, ``client_key``, ``environment_key``, ``passphrase``, ``credential(s)``, ``auth``,
   ``authorization``, ``cookie`` (so ``client_secret``, ``access_token``, ``DB_PASSWORD``, ``x-api-key``,
   ``X-Environment-Key`` are secrets; ``passwordPolicy``, ``secretName``, ``tokenTTL`` are not).  In structures
   only *string* values are replaced: ``secretAccessKey: {name, key}`` is a reference to a Secret and is walked;
   ``automountServiceAccountToken: true`` stays.
2. **name/value entries** -- ``{"name": "DB_PASSWORD", "value": ...}`` (container env, Argo CD helm parameters)
   and ``{"key": "Authorization", "value": ...}`` (Argo Rollouts web-metric headers) when the name looks secret
   (the words above anywhere in the name, unless it ends with an innocent tail such as ``_FILE``, ``_NAME``,
   ``_TTL``); ``valueFrom`` is a reference and is left alone.  The same entries as JSON or YAML text too.
3. **JSON-patch operations** -- ``{"op": "add", "path": "/data/password", "value": ...}``: the last path segment
   is judged like a key.
4. **Secret objects** -- ``kind: Secret``: every value of ``data`` and ``stringData`` (the keys stay, so a reader
   sees *which* keys).  JSON held in a string (``last-applied-configuration``) is parsed and walked.
5. **headers** -- ``Authorization: Bearer|Basic|Token|Digest …`` (the scheme stays), ``Proxy-Authorization``,
   ``Cookie``, ``Set-Cookie``, ``X-Api-Key``, ``X-Auth-Token``, ``X-Environment-Key``, ``X-Vault-Token``,
   ``Private-Token``; a header as a ``[name, value]`` pair.
6. **shapes** -- ``Bearer <token>``; ``Basic <base64>``; JWTs; AWS access key ids (``AKIA…``/``ASIA…``) and
   40-character AWS secret keys; GitHub, GitLab, Slack, Google and Stripe tokens; PEM private keys of every kind
   (``-----BEGIN [RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP] PRIVATE KEY-----`` to its END line, or to the end of the
   text when cut); certificates and public keys stay.
7. **URLs** -- user-info (``https://user:pw@host`` keeps the user, ``https://<token>@host`` loses the token) and
   secret query parameters (``token``, ``access_token``, ``key``, ``sig``, ``X-Amz-Signature``, ...).

Pure and total: never raises, never mutates its input, bounded work (depth 64, JSON-in-strings up to 256 KiB,
key prefixes up to 64 characters).  It errs on the side of redacting: ``token: expired`` loses "expired".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"
MAX_DEPTH = 64
_MAX_JSON_STRING = 256 * 1024

# --------------------------------------------------------------------------- names

# A key whose (normalised: lower case, no - _ . or spaces) name ends with one of these holds a credential.
_KEY_SUFFIXES = (
    "password", "passwd", "pwd", "secret", "token", "apikey", "accesskey", "privatekey", "secretkey",
    "sessionkey", "signingkey", "encryptionkey", "masterkey", "clientkey", "clientkeydata", "environmentkey",
    "passphrase", "credential", "credentials", "auth", "authorization", "cookie", "setcookie",
)
# Names of env entries / parameters: a secret word anywhere in the name ...
_NAME_WORDS = re.compile(
    r"passw(?:or)?d|secret|token|api_?key|access_?key|private_?key|session_?key|signing_?key|encryption_?key|"
    r"master_?key|client_?key|environment_?key|passphrase|credential|authorization|cookie|(?:^|_)pass(?:_|$)|"
    r"(?:^|_)pwd$|(?:^|_)auth$|_key$",
    re.IGNORECASE,
)
# ... unless the name ends with a tail that says the value is *about* the secret, not the secret.
_INNOCENT_TAILS = (
    "name", "names", "ref", "file", "path", "dir", "ttl", "policy", "length", "minlength", "maxlength", "expiry",
    "expires", "expiration", "timeout", "type", "enabled", "required", "mode", "header", "id", "version",
)


def _normal(key: str) -> str:
    return re.sub(r"[-_.\s]", "", key).lower()


@lru_cache(maxsize=8192)
def is_secret_key(key: str) -> bool:
    """Does a mapping key (or a header, a ``key=value`` key) name a credential?

    ``db_password``, ``clientSecret``, ``x-api-key``, ``X-Environment-Key`` do; ``secretName``, ``tokenTTL``,
    ``passwordPolicy`` do not.
    """
    norm = _normal(key)
    if not norm.endswith(_KEY_SUFFIXES):
        return False
    return not norm.endswith("auth") or _auth_key(key)


def _auth_key(key: str) -> bool:
    """``auth``, ``basic_auth``, ``basicAuth``, ``proxy-auth`` are credentials; ``unauth``, ``oauth`` are words."""
    low = key.lower().rstrip("\"'")
    return low == "auth" or low[-5:-4] in ("_", "-", ".") or key.rstrip("\"'").endswith("Auth")


@lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """Does an env entry's / parameter's name say its ``value`` is a credential?  (``DB_PASSWORD``: yes)"""
    if not name or len(name) > 256:
        return False
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").replace(".", "_").lower()
    if not _NAME_WORDS.search(snake):
        return False
    tail = snake.rsplit("_", 1)[-1]
    return tail not in _INNOCENT_TAILS


# --------------------------------------------------------------------------- text

_SECRET_WORD_ALTS = (
    r"pass(?:word|wd)|pwd|[_.-]pass|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|secret[_-]?key|"
    r"session[_-]?key|signing[_-]?key|encryption[_-]?key|master[_-]?key|client[_-]?key|environment[_-]?key|"
    r"passphrase|credentials?|auth|cookie"
)
# A quoted or bare value after ``=`` / ``:`` (JSON strings with escapes, shell quotes, or up to a delimiter).
_VALUE = r"(?:\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|\\\"(?:[^\"\\\n])*\\\"|[^\s&;,\"'\\<>]+)"

_PEM = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?)"
    r"(?:(bearer|basic|token|digest|negotiate|apikey|api-key|aws4-hmac-sha256|sso-key)[ \t]+)?"
    r"(?!(?:[A-Za-z0-9-]+[ \t]+)?\[REDACTED\])[^\s\"'\\][^\r\n\"'\\]*"
)
_HEADERS = re.compile(
    r"(?i)\b((?:x-api-key|api-key|x-auth-token|x-environment-key|x-vault-token|private-token|x-access-token|"
    r"x-amz-security-token|set-cookie|cookie)[\"']?[ \t]*:[ \t]*[\"']?)(?!\[REDACTED\])[^\s\"'\\][^\r\n\"'\\]*"
)
# name/value entries as JSON, YAML flow or YAML block text: the value is masked when the name looks secret.
_ENTRY = re.compile(
    r"(?P<pre>(?<![A-Za-z0-9_-])[\"']?(?:name|key)[\"']?[ \t]*:[ \t]*(?P<q>[\"']?)(?P<n>[^\"'\s,{}\[\]]{1,128})"
    r"(?P=q)[ \t]*(?:,?[ \t]*\r?\n[ \t]*|,[ \t]*)[\"']?value[\"']?[ \t]*:[ \t]*)"
    r"(?!\[REDACTED\])(?P<v>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s,}\]][^\n,}\]]*)"
)
_ENTRY_REVERSED = re.compile(
    r"(?P<pre>[\"']?value[\"']?[ \t]*:[ \t]*)(?!\[REDACTED\])"
    r"(?P<v>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s,}\]][^\n,}\]]*?)"
    r"(?P<post>[ \t]*,?[ \t]*\r?\n?[ \t]*[\"']?(?:name|key)[\"']?[ \t]*:[ \t]*"
    r"(?P<q>[\"']?)(?P<n>[^\"'\s,{}\[\]]{1,128})(?P=q))"
)
_PAIR = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])(?P<k>[A-Za-z0-9_.-]{0,64}?(?:" + _SECRET_WORD_ALTS + r"))"
    r"(?P<s>\\?[\"']?[ \t]*[=:][ \t]*)(?!\[REDACTED\])(?P<v>" + _VALUE + ")"
)
# SHOUTY_ENV_KEY=value (STRIPE_KEY=..., SIGNING_KEY=...): a key-ending env name given on a command line.
_ENV_KEY = re.compile(r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]{0,62}_KEY=)(?!\[REDACTED\])[^\s&;,\"'\\<>]+")
_QUERY = re.compile(
    r"(?i)([?&](?:key|sig|signature|x-amz-signature|x-amz-credential|x-goog-signature|code|"
    r"environment(?:[_-]?key)?|env[_-]?key)=)(?!\[REDACTED\])[^&\s#\"'<>]+"
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,20}://)([^/\s:@\"'<>]*):(?!\[REDACTED\]@)[^@\s/\"'<>]+@")
_URL_TOKEN_USER = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,20}://)[^/\s:@\"'<>]{20,}@")
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # A Basic credential is base64 with a digit or padding in it, so "Basic authentication failed" stays.
    (re.compile(r"(?i)\b(basic)\s+(?=[A-Za-z0-9+/=]*[0-9=])[A-Za-z0-9+/=]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b"), REDACTED),
    # 40-character AWS secret access keys: base64 alphabet, mixed case and a digit (a SHA-1 is lower-case hex).
    (re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])"
                r"(?=[A-Za-z0-9/+]{0,39}[0-9])"
                r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), REDACTED),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"), REDACTED),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), REDACTED),
    (re.compile(r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,}"), REDACTED),
)
# One cheap search decides whether a string needs the substitutions at all (almost none do).
_MAYBE = re.compile(
    r"(?i)pass|pwd|secret|token|key|auth|cookie|credential|bearer|basic|eyJ|A[KS]IA|AGPA|AIDA|AROA|ANPA|ANVA|"
    r"ABIA|ACCA|://|gh[pousr]_|github_pat|glpat-|xox|AIza|_live_|sig|code=|environment|[A-Za-z0-9/+]{40}"
)


# _MAYBE's literal alternatives in lower case with ``-``, ``_`` and ``.`` taken out (a key is judged that way), and its
# one shape: the same question as plain substring tests, a few microseconds on a whole JSON row where the regex's
# alternation takes a few hundred.
_MAYBE_WORDS = (
    "pass", "pwd", "secret", "token", "key", "auth", "cookie", "credential", "bearer", "basic", "eyj", "akia",
    "asia", "agpa", "aida", "aroa", "anpa", "anva", "abia", "acca", "://", "ghp", "gho", "ghu", "ghs", "ghr",
    "githubpat", "glpat", "xox", "aiza", "live", "sig", "code=", "environment",
)
_MAYBE_RUN = re.compile(r"[A-Za-z0-9/+]{40}")


def json_needs_redaction(text: str) -> bool:
    """False only when :func:`redact_value` of the JSON data ``text`` encodes is certain to change nothing.

    Every rule needs one of :data:`_MAYBE`'s triggers in a key or a string (a secret key word, a secret entry name,
    ``Secret``, a token shape, a URL); keys and entry names are judged with ``-``, ``_``, ``.`` and spaces removed,
    so the words are looked for in the text with those removed (a word found before is found after).  Text that is
    not ASCII (case folding beyond ASCII), has a backslash (a JSON escape: the only way JSON text holds a control
    character) or deep nesting goes through the full walk.  A recording's rows are almost all plain: this spares
    the walk, which cost a second of the GIL for one 10 000-backup keyframe."""
    if not text.isascii() or "\\" in text or text.count("[") + text.count("{") > MAX_DEPTH:
        return True
    if _MAYBE_RUN.search(text) is not None:
        return True
    joined = text.lower().replace("-", "").replace("_", "").replace(".", "").replace(" ", "")
    return any(word in joined for word in _MAYBE_WORDS)


def _entry(match: re.Match[str]) -> str:
    if not is_secret_name(match.group("n")):
        return match.group(0)
    return match.group("pre") + _masked(match.group("v")) + (match.groupdict().get("post") or "")


def _masked(value: str) -> str:
    if value.startswith('\\"'):
        return '\\"' + REDACTED + '\\"'
    if value[:1] in ("'", '"'):
        return value[0] + REDACTED + value[0]
    return REDACTED


def _pair(match: re.Match[str]) -> str:
    if match.group("k").lower().endswith("auth") and not _auth_key(match.group("k")):
        return match.group(0)
    value = match.group("v")
    if value.strip("\"'\\") in ("", REDACTED):
        return match.group(0)
    return match.group("k") + match.group("s") + _masked(value)


def redact_text(text: str) -> str:
    """``text`` with every credential-looking part replaced by ``[REDACTED]`` (see the module docstring)."""
    if not isinstance(text, str) or not text or not _MAYBE.search(text):
        return text
    text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}-----{REDACTED}-----END {m.group(1)}-----", text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + REDACTED, text)
    text = _HEADERS.sub(lambda m: m.group(1) + REDACTED, text)
    text = _ENTRY.sub(_entry, text)
    text = _ENTRY_REVERSED.sub(_entry, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + m.group(2) + ":" + REDACTED + "@", text)
    text = _URL_TOKEN_USER.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _PAIR.sub(_pair, text)
    text = _ENV_KEY.sub(lambda m: m.group(1) + REDACTED, text)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


# --------------------------------------------------------------------------- structures


def redact_value(value: Any, *, _depth: int = 0) -> Any:
    """A redacted copy of ``value`` (dicts and lists copied, strings masked, other scalars as they are).

    Deeper than :data:`MAX_DEPTH` the whole sub-tree becomes ``[REDACTED]``: nothing unexamined is kept.
    """
    if _depth > MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return _redact_string(value, _depth)
    if isinstance(value, Mapping):
        return _redact_mapping(value, _depth)
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], str) and is_secret_key(value[0]):
            return [value[0], REDACTED if value[1] else value[1]]  # a header as a (name, value) pair
        return [redact_value(item, _depth=_depth + 1) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return redact_text(bytes(value).decode("utf-8", errors="backslashreplace"))
    return value


def _redact_mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    is_secret_object = value.get("kind") == "Secret"
    entry_name = value.get("name", value.get("key"))
    secret_entry = "value" in value and isinstance(entry_name, str) and is_secret_name(entry_name)
    patch_path = value.get("path") if isinstance(value.get("op"), str) else None
    secret_patch = isinstance(patch_path, str) and is_secret_key(patch_path.rstrip("/").rsplit("/", 1)[-1])
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key)
        if is_secret_object and name in ("data", "stringData") and isinstance(item, Mapping):
            out[name] = {str(k): REDACTED for k in item}
        elif name == "value" and (secret_entry or secret_patch) and _is_scalar_secret(item):
            out[name] = REDACTED
        elif is_secret_key(name) and _is_scalar_secret(item):
            out[name] = REDACTED
        else:
            out[name] = redact_value(item, _depth=depth + 1)
    return out


def _is_scalar_secret(item: Any) -> bool:
    """A non-empty string, bytes or a number is a credential; a dict is a reference, a bool a switch."""
    if isinstance(item, bool) or item is None:
        return False
    if isinstance(item, (int, float)):
        return True
    return isinstance(item, (str, bytes, bytearray)) and len(item) > 0


def _redact_string(text: str, depth: int) -> str:
    stripped = text.strip()
    if (
        len(stripped) >= 2
        and len(stripped) <= _MAX_JSON_STRING
        and (stripped[0], stripped[-1]) in (("{", "}"), ("[", "]"))
        and _MAYBE.search(stripped)
    ):
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, (dict, list)):
            cleaned = redact_value(parsed, _depth=depth + 1)
            if cleaned != parsed:
                return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))
            return text
    return redact_text(text)
