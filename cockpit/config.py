"""Settings: command line > COCKPIT_* environment > TOML config file > defaults.

The config file is found with platformdirs (``<user config dir>/cockpit/config.toml``) unless ``--config`` names one.
Every command-line flag has a key of the same name (dashes become underscores).  Per-context settings live in
``[contexts.<name>]`` tables::

    kubeconfig = "~/.kube/config"
    context = ["us-east", "eu-west"]
    namespace = "bookstore-platform-acme-books"
    app = "bookstore-catalog-us-east"
    rollout = "catalog"
    prometheus_url = "http://prometheus.monitoring:9090"
    slo = 0.5

    [contexts.us-east]
    production = true
    read_only = true
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line for stderr."""


@dataclass(frozen=True)
class ContextSettings:
    name: str
    production: bool = False
    read_only: bool = False
    namespace: str | None = None  # overrides the global namespace for this context
    prometheus_url: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Settings:
    kubeconfig: str | None = None
    contexts: tuple[str, ...] = ()  # empty = the kubeconfig's current context
    namespace: str | None = None
    app: str | None = None
    argocd_namespace: str = "argocd"
    rollout: str | None = None
    cnpg_cluster: str | None = None
    cnpg_namespace: str | None = None
    velero_namespace: str = "velero"
    prometheus_url: str | None = None
    promql: str | None = None
    service: str = "catalog"  # the service the default PromQL selects
    slo: float = 0.5
    prometheus_interval: float = 20.0  # 3 p99 queries a minute + the archiver's 1: within 4 a minute
    recent_deploy_minutes: int = 30
    verify_minutes: float = 5.0  # after a mitigating write: p99 under the SLO this long = MITIGATED
    read_only: bool = False
    # decision-tree evidence (all optional: a missing one leaves its node "unknown", asking the person)
    gitops_repo: str | None = None  # a local clone of the GitOps repository
    migrations_dir: str = "migrations/"
    flag_url: str | None = None  # plain HTTP GET returning JSON (e.g. Flagsmith's flags API)
    flag_key: str | None = None
    flag_admin_url: str | None = None  # the flag provider's admin API base (Flagsmith: https://api.flagsmith.com)
    flag_environment_key: str | None = None  # the environment whose flag is flipped (Flagsmith environment key)
    flag_admin_token_env: str = "FLAGSMITH_ADMIN_TOKEN"  # the NAME of the env variable holding the admin token
    helm_release: str | None = None  # a Helm release (installed with helm, not Argo CD) owning the workload
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_window_hours: float = 24.0
    tenant_namespace: str | None = None  # default: the Argo CD app's destination namespace
    # recording, replay and drills
    no_record: bool = False
    record: str | None = None  # the recording file (default: platformdirs user data dir)
    recording_dir: str | None = None  # where recordings go when --record names no file (a team's shared directory)
    recording_group: str | None = None  # the group that may read (mirror, replay) recordings: file 0640, dir 2750
    drill_dir: str | None = None  # where dr-drill-YYYY-MM.md reports go (its own git repo: they are committed)
    config_path: str | None = None
    context_settings: dict[str, ContextSettings] = field(default_factory=dict)
    demo: bool = False

    def context(self, name: str) -> ContextSettings:
        return self.context_settings.get(name) or ContextSettings(name=name)

    def is_read_only(self, context: str) -> bool:
        return self.read_only or self.context(context).read_only

    def reports_dir(self) -> "Path":
        """Where drill reports are written and read (staleness comes from them)."""
        if self.drill_dir:
            return Path(self.drill_dir).expanduser()
        from platformdirs import user_data_path

        return user_data_path("cockpit") / "drills"

    def effective_promql(self) -> str:
        from cockpit.sources.prometheus import default_promql

        return self.promql or default_promql(self.service)


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("cockpit", appauthor=False) / "config.toml"


_STR_KEYS = {
    "kubeconfig", "namespace", "app", "argocd_namespace", "rollout", "cnpg_cluster", "cnpg_namespace",
    "velero_namespace", "prometheus_url", "promql", "service", "gitops_repo", "migrations_dir", "flag_url",
    "flag_key", "s3_endpoint", "s3_bucket", "s3_prefix", "tenant_namespace", "record", "drill_dir",
    "recording_dir", "recording_group",
    "flag_admin_url", "flag_environment_key", "flag_admin_token_env", "helm_release",
}
_FLOAT_KEYS = {"slo", "prometheus_interval", "s3_window_hours", "verify_minutes"}
_INT_KEYS = {"recent_deploy_minutes"}
_BOOL_KEYS = {"read_only", "no_record"}

# Sane bounds for every number (inclusive), with the unit the error message names.  Outside them a value is a typo
# or an attack: 1e-9 s of polling interval spins, 99999999999999 minutes overflows every date.
RANGES: dict[str, tuple[float, float, str]] = {
    "slo": (0.001, 3600.0, "seconds"),
    "prometheus_interval": (1.0, 3600.0, "seconds"),
    "s3_window_hours": (0.1, 8760.0, "hours"),
    "recent_deploy_minutes": (1, 10080, "minutes"),
}
# Booleans in the environment: these words only (any case); anything else is an error, never "false".
_TRUE_WORDS = ("true", "1", "yes")
_FALSE_WORDS = ("false", "0", "no")
MAX_CONFIG_BYTES = 1024 * 1024
_MAX_STRING = 4096
_MAX_PROMQL = 16384
_MAX_CONTEXTS = 64


def check_range(key: str, value: float, where: str) -> None:
    """ConfigError unless ``value`` is within ``RANGES[key]``; the message names the bounds and the unit."""
    low, high, unit = RANGES[key]
    if not low <= value <= high:
        raise ConfigError(f"{where}: '{key}' must be between {low:g} and {high:g} {unit}, got {value:g}")


def parse_bool(raw: str, where: str) -> bool:
    """true/false, 1/0, yes/no in any case; ConfigError for anything else (``ture`` is not false)."""
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    raise ConfigError(f"{where}: {shown!r} is not a boolean (use true/false, 1/0 or yes/no)")


def _check_string(key: str, value: str, where: str) -> str:
    limit = _MAX_PROMQL if key == "promql" else _MAX_STRING
    if len(value) > limit:
        raise ConfigError(f"{where}: '{key}' is longer than {limit} characters")
    if "\0" in value:
        raise ConfigError(f"{where}: '{key}' contains a NUL character")
    return value


def _check_type(key: str, value: Any, where: str) -> Any:
    if key in _STR_KEYS:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: '{key}' must be a string, got {type(value).__name__}")
        if key == "promql" and not value.strip():
            raise ConfigError(f"{where}: 'promql' is empty (leave it out for the service's p99)")
        return _check_string(key, value, where)
    if key in _FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: '{key}' must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ConfigError(f"{where}: '{key}' must be a finite number, got {value}")
        if value <= 0:
            raise ConfigError(f"{where}: '{key}' must be greater than 0")
        check_range(key, value, where)
        return float(value)
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: '{key}' must be an integer, got {type(value).__name__}")
        check_range(key, value, where)
        return value
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: '{key}' must be true or false, got {type(value).__name__}")
        return value
    if key == "context":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if len(value) > _MAX_CONTEXTS:
                raise ConfigError(f"{where}: more than {_MAX_CONTEXTS} contexts")
            return tuple(_check_string("context", v, where) for v in value)
        raise ConfigError(f"{where}: 'context' must be a string or a list of strings")
    raise ConfigError(f"{where}: unknown setting '{key}'")


def _context_table(name: str, table: Any, where: str) -> ContextSettings:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [contexts.{name}] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("production", "read_only"):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: contexts.{name}.{key} must be true or false")
        elif key in ("namespace", "prometheus_url", "region"):
            if not isinstance(value, str):
                raise ConfigError(f"{where}: contexts.{name}.{key} must be a string")
            _check_string(f"contexts.{name}.{key}", value, where)
        else:
            raise ConfigError(f"{where}: unknown setting contexts.{name}.{key}")
        values[key] = value
    return ContextSettings(name=name, **values)


def read_config_file(path: Path, *, explicit: bool) -> dict[str, Any]:
    """The file's settings as Settings field values; a missing default file is fine, a missing --config is not."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file not found: {path}") from None
        return {}
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror or err}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; this is not a cockpit config file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise ConfigError(f"{path}: a value is nested too deeply; the cockpit's settings are flat") from None
    if len(data.get("contexts", {}) if isinstance(data.get("contexts"), dict) else ()) > _MAX_CONTEXTS:
        raise ConfigError(f"{path}: more than {_MAX_CONTEXTS} [contexts.*] tables")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "contexts":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: 'contexts' must be a table of tables")
            values["context_settings"] = {
                name: _context_table(name, table, str(path)) for name, table in value.items()
            }
            continue
        checked = _check_type(key, value, str(path))
        values["contexts" if key == "context" else key] = checked
    return values


def read_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for key in sorted(_STR_KEYS | _FLOAT_KEYS | _INT_KEYS | _BOOL_KEYS | {"context"}):
        raw = env.get("COCKPIT_" + key.upper())
        if raw is None or raw == "":
            continue
        where = "environment COCKPIT_" + key.upper()
        if key in _FLOAT_KEYS:
            try:
                number = float(raw)
            except ValueError:
                raise ConfigError(f"{where}: not a number: {raw[:40]!r}") from None
            values[key] = _check_type(key, number, where)
        elif key in _INT_KEYS:
            try:
                number = int(raw.strip()) if len(raw) <= 40 else None
            except ValueError:
                number = None
            if number is None:
                raise ConfigError(f"{where}: not an integer: {raw[:40]!r}")
            values[key] = _check_type(key, number, where)
        elif key in _BOOL_KEYS:
            values[key] = parse_bool(raw, where)
        elif key == "context":
            values["contexts"] = _check_type("context", [part for part in raw.split(",") if part], where)
        else:
            values[key] = _check_type(key, raw, where)
    return values


def build_settings(cli: dict[str, Any], *, environ: dict[str, str] | None = None) -> Settings:
    """Merge the layers.  ``cli`` holds only the flags the person actually gave."""
    config_path = cli.get("config_path")
    path = Path(config_path).expanduser() if config_path else default_config_path()
    merged: dict[str, Any] = {}
    merged.update(read_config_file(path, explicit=bool(config_path)))
    merged.update(read_env(environ))
    merged.update({key: value for key, value in cli.items() if value is not None})
    merged["config_path"] = str(path)
    names = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(merged) - names
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    return Settings(**merged)
