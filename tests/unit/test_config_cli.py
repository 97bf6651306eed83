"""Settings layering and the command line's one-line errors (exit code 2, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.cli import main, parse_settings
from cockpit.config import ConfigError, build_settings

KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: us-east
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: u
  user: {token: secret-token-value}
contexts:
- name: us-east
  context: {cluster: c, user: u, namespace: shop}
- name: eu-west
  context: {cluster: c, user: u}
"""


def test_cli_beats_env_beats_file(tmp_path, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text('namespace = "from-file"\nslo = 0.8\napp = "file-app"\n[contexts.us-east]\nproduction = true\n')
    monkeypatch.setenv("COCKPIT_SLO", "0.9")
    settings, command = parse_settings(["--config", str(config), "-n", "from-cli"])
    assert command is None
    assert settings.namespace == "from-cli"
    assert settings.slo == 0.9
    assert settings.app == "file-app"
    assert settings.context("us-east").production is True
    assert settings.context("eu-west").production is False


def test_defaults():
    settings = build_settings({})
    assert settings.argocd_namespace == "argocd"
    assert settings.velero_namespace == "velero"
    assert settings.prometheus_interval == 20.0
    assert 'service="catalog"' in settings.effective_promql()
    assert settings.effective_promql().startswith("histogram_quantile(0.99")


def test_repeated_context_flag():
    settings, _ = parse_settings(["--context", "us-east", "--context", "eu-west"])
    assert settings.contexts == ("us-east", "eu-west")


@pytest.mark.parametrize(
    "body, words",
    [
        ("slo = 'fast'", "'slo' must be a number"),
        ("read_only = 'yes'", "'read_only' must be true or false"),
        ("namespace = 3", "'namespace' must be a string"),
        ("colour = 'red'", "unknown setting 'colour'"),
        ("[contexts.prod]\nproduction = 1", "contexts.prod.production must be true or false"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_config_file_is_one_line(tmp_path, capsys, body, words):
    config = tmp_path / "c.toml"
    config.write_text(body)
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_explicit_config(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_no_kubeconfig_is_one_line(tmp_path, capsys):
    assert main(["--kubeconfig", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no kubeconfig at" in err and "cockpit demo" in err


def test_unknown_context_is_one_line(tmp_path, capsys):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    assert main(["--kubeconfig", str(path), "--context", "ap-south"]) == 2
    err = capsys.readouterr().err
    assert "context 'ap-south' not found" in err and "eu-west, us-east" in err
    assert "secret-token-value" not in err


def test_kubeconfig_not_yaml(tmp_path, capsys):
    path = tmp_path / "kubeconfig"
    path.write_text("{{{: [")
    assert main(["--kubeconfig", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_bad_flag_value(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--slo", "-1"])
    assert exit_info.value.code == 2
    assert "must be greater than 0" in capsys.readouterr().err


def test_connect_resolves_targets(tmp_path):
    from cockpit.session import connect

    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    config = tmp_path / "c.toml"
    config.write_text("[contexts.eu-west]\nread_only = true\nproduction = true\n")
    settings, _ = parse_settings(["--config", str(config), "--kubeconfig", str(path), "--context", "us-east",
                                  "--context", "eu-west"])
    targets = connect(settings)
    assert [t.name for t in targets] == ["us-east", "eu-west"]
    assert targets[0].namespace == "shop" and targets[1].namespace == "default"
    assert targets[1].read_only and targets[1].production and not targets[0].read_only


def test_version_and_help_run_as_module():
    out = subprocess.run([sys.executable, "-m", "cockpit", "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("cockpit ")
    out = subprocess.run([sys.executable, "-m", "cockpit", "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "--prometheus-url" in out.stdout and "demo" in out.stdout


def test_start_path_imports_no_heavy_backend():
    """The bastion start stays fast: parsing argv and settings loads neither kubernetes nor boto3."""
    code = (
        "import sys; from cockpit.cli import parse_settings; parse_settings([]);"
        "import cockpit.app, screens.dashboard;"
        "heavy = [m for m in ('kubernetes', 'boto3', 'git', 'prometheus_api_client', 'pglast') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------- booleans, ranges, hostile files


@pytest.mark.parametrize("word, expected", [("true", True), ("TRUE", True), ("1", True), ("yes", True),
                                            ("Yes", True), ("false", False), ("0", False), ("No", False),
                                            (" true ", True)])
def test_env_booleans(word, expected):
    settings = build_settings({}, environ={"COCKPIT_READ_ONLY": word, "COCKPIT_NO_RECORD": word})
    assert settings.read_only is expected and settings.no_record is expected


@pytest.mark.parametrize("word", ["ture", "enabled", "on", "off", "y", "2", "tru", "falsch", "yes please"])
def test_a_typo_in_a_safety_switch_is_an_error_not_false(word, capsys, monkeypatch):
    with pytest.raises(ConfigError, match="COCKPIT_READ_ONLY.*is not a boolean"):
        build_settings({}, environ={"COCKPIT_READ_ONLY": word})
    monkeypatch.setenv("COCKPIT_READ_ONLY", word)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "is not a boolean" in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "body, words",
    [
        ("recent_deploy_minutes = 99999999999999", "'recent_deploy_minutes' must be between 1 and 10080 minutes"),
        ("recent_deploy_minutes = 0", "between 1 and 10080 minutes"),
        ("prometheus_interval = 1e-9", "'prometheus_interval' must be between 1 and 3600 seconds"),
        ("prometheus_interval = 86400", "between 1 and 3600 seconds"),
        ("slo = 1e300", "'slo' must be between 0.001 and 3600 seconds"),
        ("s3_window_hours = 1e9", "'s3_window_hours' must be between 0.1 and 8760 hours"),
        ("read_only = 1", "'read_only' must be true or false"),
        ("a = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("a = " + "{b = " * 5000 + "1" + "}" * 5000, "nested too deeply"),
        ("namespace = '" + "n" * 5000 + "'", "longer than 4096 characters"),
        ("context = [" + ", ".join(f"'c{i}'" for i in range(100)) + "]", "more than 64 contexts"),
    ],
    ids=["deploy-minutes-huge", "deploy-minutes-0", "interval-1e-9", "interval-day", "slo-huge", "s3-window-huge",
         "bool-as-int", "deep-array", "deep-table", "long-string", "many-contexts"],
)
def test_out_of_range_and_hostile_config_is_one_line(tmp_path, capsys, body, words):
    config = tmp_path / "c.toml"
    config.write_text(body)
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_huge_config_file_is_refused_unread(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    assert main(["--config", str(config)]) == 2
    assert "larger than 1024 KiB" in capsys.readouterr().err


@pytest.mark.parametrize("name, value, words", [
    ("COCKPIT_RECENT_DEPLOY_MINUTES", "99999999999999", "between 1 and 10080 minutes"),
    ("COCKPIT_RECENT_DEPLOY_MINUTES", "9" * 5000, "not an integer"),
    ("COCKPIT_PROMETHEUS_INTERVAL", "1e-9", "between 1 and 3600 seconds"),
    ("COCKPIT_SLO", "nan", "finite"),
])
def test_out_of_range_env_is_an_error(name, value, words):
    with pytest.raises(ConfigError, match=words):
        build_settings({}, environ={name: value})


def test_cli_numbers_are_range_checked_too(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--slo", "5000"])
    assert exit_info.value.code == 2
    assert "must be between 0.001 and 3600 seconds" in capsys.readouterr().err


def test_the_error_line_is_redacted(capsys, monkeypatch):
    monkeypatch.setenv("COCKPIT_READ_ONLY", "token=hunter2")  # pasted into the wrong variable
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "is not a boolean" in err and "hunter2" not in err
