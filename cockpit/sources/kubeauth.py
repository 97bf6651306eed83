"""Kubeconfig credentials, with exec credential plugins run off the terminal, bounded and killable.

The official client loads a kubeconfig with ``KubeConfigLoader`` and runs ``users[].user.exec`` plugins through
``ExecProvider``.  Three things about that are wrong under a full-screen UI:

* when stdout is a terminal it hands the plugin our stdin and stderr: what the plugin prints (a token, an escape
  sequence) lands on top of the screen, and it can read the keystrokes meant for the cockpit;
* it waits for the plugin without a limit: a plugin that hangs (a browser login nobody completes) holds the
  thread for ever, every pane says "loading…", and quitting waits for it;
* a failure is written with ``logging.error`` (stderr again) and swallowed: the requests then go out without a
  credential and the pane says 401 instead of why.

So the loader here is the official one with its exec step replaced (:class:`_Loader` overrides
``_load_from_exec_plugin``): ``ExecProvider`` still parses the exec stanza (command, args, env, cwd,
``provideClusterInfo``), and the plugin is run by :func:`cockpit.sources.limits.run_process` — stdin from
/dev/null, stdout and stderr captured, a new session without a controlling terminal, killed (with its children)
after ``PLUGIN_SECONDS`` or when the caller gives up.  What stays the client's: the ExecCredential
``apiVersion`` sent in ``KUBERNETES_EXEC_INFO`` and required back, the environment, the token cached until its
``expirationTimestamp`` (refreshed by the configuration's ``refresh_api_key_hook`` on the request that finds
it expired), client certificates from the plugin.  ``interactiveMode: Never`` and ``IfAvailable`` run with
``spec.interactive: false`` (an error then says the plugin ran without a terminal); ``Always`` is refused before
running, with what to do instead.  A failure is a ``SourceError`` (AUTH; CONFIG for a plugin that cannot be
started) whose message carries the plugin's stderr with escape sequences removed, secrets redacted and control
characters made visible.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from cockpit.sources import limits
from cockpit.sources.errors import ErrorKind, SourceError

PLUGIN_SECONDS = 30.0  # read when used: a setting (or a test) may change it
FAILURE_MEMORY = 5.0  # a failed plugin is not run again for this long (all the watches ask at the same moment)
_STDERR_SHOWN = 300

# Whole terminal sequences (OSC ... BEL/ST, CSI ..., two-character ESC x): their payload is for a terminal,
# never for a person (an OSC 52 clipboard write carries base64 data).
_ESCAPES = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x9d[^\x07\x1b\x9c]*(?:\x07|\x9c)?"
                      r"|\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def redact_text(text: str) -> str:
    """Credentials in free text replaced (the project's one redactor, ``cockpit.redact``)."""
    from cockpit.redact import redact_text as redact

    return redact(text)


from cockpit.redact import REDACTED  # noqa: E402 (the one marker)


def plugin_words(raw: bytes, *, known_secrets: tuple[str, ...] = (), limit: int = _STDERR_SHOWN) -> str:
    """What a plugin wrote, fit for an error line: escapes removed, secrets redacted, controls visible, cut."""
    from cockpit.textsafe import clean

    text = raw.decode("utf-8", errors="replace")
    text = _ESCAPES.sub("", text)
    for secret in known_secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = redact_text(text)
    return clean(" ".join(text.split()), limit=limit)


def load(path: Path, context: str, configuration: Any) -> None:
    """Fill ``configuration`` from the kubeconfig at ``path`` for ``context`` (exec plugins run as above).

    Raises the client's ``ConfigException`` for a kubeconfig it refuses and ``SourceError`` for a plugin that
    fails, hangs or cannot be started."""
    from cockpit.sources.kubeimport import load

    kubernetes = load()
    merged = kubernetes.kube_config.KubeConfigMerger(str(path))
    if merged.config is None:
        raise kubernetes.ConfigException("Invalid kube-config file. No configuration found.")
    loader = _loader_class()(config_dict=merged.config, config_base_path=None, active_context=context)
    loader.load_and_set(configuration)


_LOADER: type | None = None


def _loader_class() -> type:
    global _LOADER
    if _LOADER is None:
        from cockpit.sources.kubeimport import load

        kube_config = load().kube_config

        class _Loader(kube_config.KubeConfigLoader):  # type: ignore[misc]
            """The official loader with the exec step replaced (see the module docstring)."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self._exec_lock = threading.Lock()
                self._exec_failure: tuple[float, SourceError] | None = None
                super().__init__(*args, **kwargs)

            def _load_from_exec_plugin(self) -> bool | None:
                if not self._user or "exec" not in self._user:
                    return None
                with self._exec_lock:
                    if "token" in self.__dict__ and not ("expiry" in self.__dict__
                                                         and kube_config._is_expired(self.expiry)):
                        return True  # another thread refreshed it while this one waited
                    failed = self._exec_failure
                    if failed is not None and time.monotonic() - failed[0] < FAILURE_MEMORY:
                        raise failed[1]
                    try:
                        status = run_exec_plugin(self._user["exec"], self._get_base_path(self._cluster.path),
                                                 self._cluster, known_secrets=self._known_secrets())
                        self._apply(status)
                    except SourceError as err:
                        self._exec_failure = (time.monotonic(), err)
                        raise
                    self._exec_failure = None
                    return True

            def _known_secrets(self) -> tuple[str, ...]:
                token = self.__dict__.get("token")
                if isinstance(token, str) and token.startswith("Bearer "):
                    return (token[len("Bearer "):],)
                return ()

            def _apply(self, status: dict[str, Any]) -> None:
                name = plugin_name(self._user["exec"])
                base_path = self._get_base_path(self._cluster.path)
                if isinstance(status.get("token"), str) and status["token"]:
                    self.token = f"Bearer {status['token']}"
                elif status.get("clientCertificateData"):
                    if not status.get("clientKeyData"):
                        raise SourceError(ErrorKind.AUTH, f"credential plugin {name} sent a client certificate "
                                                          "without its key (no clientKeyData)")
                    self.cert_file = kube_config.FileOrData(
                        status, None, data_key_name="clientCertificateData", file_base_path=base_path,
                        base64_file_content=False, temp_file_path=self._temp_file_path).as_file()
                    self.key_file = kube_config.FileOrData(
                        status, None, data_key_name="clientKeyData", file_base_path=base_path,
                        base64_file_content=False, temp_file_path=self._temp_file_path).as_file()
                else:
                    raise SourceError(ErrorKind.AUTH, f"credential plugin {name} answered without a token or a "
                                                      "client certificate")
                if status.get("expirationTimestamp"):
                    try:
                        self.expiry = kube_config.parse_rfc3339(status["expirationTimestamp"])
                    except Exception:  # noqa: BLE001 - the client's parser raises plain exceptions
                        raise SourceError(ErrorKind.AUTH, f"credential plugin {name} sent an expirationTimestamp "
                                                          "that is not a time") from None

        _LOADER = _Loader
    return _LOADER


def plugin_name(exec_config: Any) -> str:
    from cockpit.textsafe import clean

    command = exec_config.safe_get("command") if hasattr(exec_config, "safe_get") else None
    return clean(os.path.basename(str(command or "?")), limit=80)


def run_exec_plugin(exec_config: Any, base_path: str | None, cluster: Any, *,
                    known_secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run one exec credential plugin as the official client would, but off the terminal and bounded; return
    the ExecCredential's ``status``.  ``exec_config`` and ``cluster`` are the client's ConfigNodes."""
    from cockpit.sources.kubeimport import load

    kubernetes = load()
    name = plugin_name(exec_config)
    try:
        provider = kubernetes.ExecProvider(exec_config, base_path, cluster)
    except kubernetes.ConfigException as err:
        raise SourceError(ErrorKind.CONFIG, f"credential plugin {name}: {config_words(str(err))}") from None
    except (KeyError, TypeError, AttributeError):
        raise SourceError(ErrorKind.CONFIG, f"credential plugin {name}: malformed exec section") from None
    mode = exec_config.safe_get("interactiveMode") or "IfAvailable"
    if mode == "Always":
        raise SourceError(ErrorKind.CONFIG, f"credential plugin {name} needs a terminal (interactiveMode: Always) "
                                            "and the cockpit runs plugins without one: log in with it in a shell "
                                            "first, or set interactiveMode: IfAvailable")
    info: dict[str, Any] = {"apiVersion": provider.api_version, "kind": "ExecCredential",
                            "spec": {"interactive": False}}
    if provider.cluster:
        info["spec"]["cluster"] = dict(provider.cluster.value)
        for extension in provider.cluster.value.get("extensions") or []:
            if isinstance(extension, dict) and extension.get("name") == "client.authentication.k8s.io/exec":
                info["spec"]["cluster"]["config"] = extension.get("extension")
                break
    env = dict(provider.env)
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    without_terminal = " (run without a terminal: interactiveMode IfAvailable is treated as Never)" \
        if mode == "IfAvailable" else ""
    result = limits.run_process(provider.args, what=f"credential plugin {name}", seconds=PLUGIN_SECONDS,
                                env=env, cwd=provider.cwd)
    if result.returncode != 0:
        how = f"exit {result.returncode}" if result.returncode > 0 else f"killed by signal {-result.returncode}"
        said = plugin_words(result.stderr, known_secrets=known_secrets)
        raise SourceError(ErrorKind.AUTH, f"credential plugin {name} failed ({how})"
                                          + (f": {said}" if said else "") + without_terminal)
    try:
        data = json.loads(result.stdout)
    except (ValueError, RecursionError):
        raise SourceError(ErrorKind.AUTH, f"credential plugin {name} did not print an ExecCredential (not JSON)"
                                          + without_terminal) from None
    if not isinstance(data, dict) or not isinstance(data.get("status"), dict):
        raise SourceError(ErrorKind.AUTH, f"credential plugin {name} printed an ExecCredential without a status")
    for key in ("apiVersion", "kind"):
        if key not in data:
            raise SourceError(ErrorKind.AUTH, f"credential plugin {name} printed an ExecCredential without {key}")
    if data["apiVersion"] != provider.api_version:
        raise SourceError(ErrorKind.AUTH, f"credential plugin {name} answered apiVersion "
                                          f"{config_words(str(data['apiVersion']))}, the kubeconfig asks for "
                                          f"{config_words(str(provider.api_version))}")
    return data["status"]


def config_words(text: str) -> str:
    from cockpit.textsafe import clean

    return clean(redact_text(text), limit=200)
