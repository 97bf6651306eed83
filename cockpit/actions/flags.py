"""Flag flip: turn a feature flag off (or on) through the flag provider's admin API -- Flagsmith's, as documented.

The seed's first mitigation: when the regression sits behind a flag, flipping it back takes a minute and touches
only the users behind it.  Flagsmith keeps an environment's default state of a feature in a *feature state*;
its admin API (``/api/v1/environments/{environment_key}/featurestates/``, Flagsmith api/environments/urls.py and
api/features/views.py) lists them (``?feature_name=``) and updates one with ``PATCH .../featurestates/{id}/``
``{"enabled": false}`` -- every update is partial.  Both need ``Authorization: Token <key>`` (or ``Api-Key`` for
an organisation key); the key comes from an environment variable named in the config, never from a file, a runbook
parameter or the recording.

Planning reads the feature state first (so the modal shows what it is now and a flip to the state it already has
is a no-op); the write is one :class:`HttpWrite`.  Flagsmith has no dry-run: the gateway says so before asking.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlencode

from cockpit.actions.http import HttpError, request
from cockpit.actions.requests import Action, ActionRefused, HttpWrite, Risk

DEFAULT_TOKEN_ENV = "FLAGSMITH_ADMIN_TOKEN"
SCHEMES = ("Token", "Api-Key")
_MAX_KEY = 200


def _base(admin_url: str) -> str:
    url = admin_url.strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise ActionRefused(f"flag admin URL {admin_url!r} must start with http:// or https://")
    for suffix in ("/api/v1", "/api"):  # accept the API root as well as the server's base URL
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def token_from_env(variable: str | None, environ: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(scheme, token, "$VARIABLE") from the environment; a value may carry its scheme ("Api-Key abc...")."""
    name = (variable or DEFAULT_TOKEN_ENV).strip()
    env = os.environ if environ is None else environ
    raw = (env.get(name) or "").strip()
    if not raw:
        return "", "", f"${name}"
    scheme, _, rest = raw.partition(" ")
    if scheme in SCHEMES and rest.strip():
        return scheme, rest.strip(), f"${name}"
    return "Token", raw, f"${name}"


def feature_states(admin_url: str, environment_key: str, flag: str, *, scheme: str, token: str,
                   timeout: float = 10.0) -> list[dict[str, Any]]:
    """The environment-default feature states of ``flag`` (no identity or segment overrides)."""
    url = (f"{_base(admin_url)}/api/v1/environments/{quote(environment_key, safe='')}/featurestates/?"
           + urlencode({"feature_name": flag}))
    headers = {"Accept": "application/json", "Authorization": f"{scheme} {token}"}
    try:
        answer = request("GET", url, headers=headers, timeout=timeout)
    except HttpError as err:
        if err.status in (401, 403):
            raise ActionRefused(f"the flag admin API refused the token: {err}") from None
        if err.status == 404:
            raise ActionRefused(f"the flag admin API knows no environment {environment_key!r}: {err}") from None
        raise ActionRefused(f"cannot read flag {flag} from the admin API: {err}") from None
    items = answer.get("results") if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise ActionRefused(f"the flag admin API answered {url} without a list of feature states")
    return [item for item in items if isinstance(item, dict) and item.get("identity") in (None, "")
            and item.get("feature_segment") in (None, "")]


def set_flag(
    admin_url: str | None,
    environment_key: str | None,
    flag: str,
    enabled: bool,
    *,
    token_env: str | None = None,
    environ: dict[str, str] | None = None,
    context: str = "flags",
    user: str = "",
    timeout: float = 10.0,
) -> Action:
    """Plan ``PATCH /api/v1/environments/{key}/featurestates/{id}/ {"enabled": <enabled>}`` for ``flag``."""
    if not admin_url:
        raise ActionRefused("no flag admin API is configured (flag_admin_url): flip the flag by hand in the flag "
                            "provider")
    if not environment_key:
        raise ActionRefused("no flag environment key is configured (flag_environment_key): flip the flag by hand")
    if not flag or len(flag) > _MAX_KEY or any(ch in flag for ch in "\0\r\n"):
        raise ActionRefused(f"{flag!r} is not a usable flag name")
    scheme, token, source = token_from_env(token_env, environ)
    if not token:
        raise ActionRefused(f"the flag admin token is not set: export {source[1:]} (the cockpit never stores it)")
    states = feature_states(admin_url, environment_key, flag, scheme=scheme, token=token, timeout=timeout)
    if not states:
        raise ActionRefused(f"flag {flag} has no feature state in environment {environment_key}")
    if len(states) > 1:
        raise ActionRefused(f"flag {flag} has {len(states)} environment feature states: flip it in the provider")
    state = states[0]
    state_id = state.get("id")
    if not isinstance(state_id, int) or isinstance(state_id, bool):
        raise ActionRefused(f"the feature state of {flag} has no usable id")
    current = state.get("enabled")
    word = "on" if enabled else "off"
    if current is enabled:
        raise ActionRefused(f"flag {flag} is already {word}", noop=True)
    url = f"{_base(admin_url)}/api/v1/environments/{quote(environment_key, safe='')}/featurestates/{state_id}/"
    write = HttpWrite(
        method="PATCH", url=url, body={"enabled": enabled}, secret_header="Authorization", secret_scheme=scheme,
        secret=token, secret_source=source, api="Flagsmith admin API", timeout=timeout,
        dry_run_note=f"the current state was read just now: enabled={str(current).lower()}",
    )
    shown = {key: state.get(key) for key in ("id", "feature", "enabled", "feature_state_value", "updated_at")
             if key in state}
    warnings = ["Flagsmith has no dry-run: the flip takes effect for every SDK that polls the environment"]
    if enabled:
        warnings.append(f"turning {flag} ON brings the new behaviour back to everyone behind it")
    return Action(
        name="flags.set", verb=f"turn {word}", kind="feature flag", target=flag, namespace=environment_key,
        context=context, user=user or "flag admin token", writes=(write,), risk=Risk.LOW, warnings=tuple(warnings),
        summary=f"turn flag {flag} {word} in environment {environment_key} (feature state {state_id}, now "
                f"{'on' if current else 'off'})",
        preview="feature state now:\n" + json.dumps(shown, indent=2, default=str),
        follow_up=f"watch the flag read {word} from the SDK endpoint, then the p99",
        current=state,
    )
