"""Hostile input from every backend, read as the raw bytes the real cockpit writes to its terminal.

Markup (``[bold]``, ``[@click=app.quit]``, ``[/``), OSC/CSI/C1 sequences (OSC 52 clipboard write, OSC 0/2 title
change, ``ESC[2J``, ``ESC c``, C1 ``\\x9b`` and ``\\x9d``), bidi overrides and zero-width characters are put in
every string the cockpit reads: Kubernetes objects in the emulator, Prometheus errors, the flag provider's answer,
a git commit message and path, S3 keys, config values, a kubeconfig context name, a credential plugin's stderr; and
then in the recording of that session, replayed.  The real cockpit (``python -m cockpit drill …``, then
``python -m cockpit replay …``) runs in a pseudo-terminal; the test walks every screen with keys (the runbook
executor of the drill, the six panes, zoom, the decision tree, explain, help, the palette, the confirmation modal,
notifications, the recoverable question, the context tabs; in replay: play, step, jump, the recorded run).

Every escape sequence the app writes must be of a kind it writes on a clean run of the same script (SGR, cursor
moves, the mode sets at start and stop, Textual's OSC 22 mouse-pointer shape with a plain name); never another OSC
(52, 0, 2, …), DCS, APC/PM/SOS, ``ESC c``, a C1 control (as a code point or a raw byte), a bidi override or
zero-width character, nor any of the hostile byte sequences.  And the hostile
text is there, shown literally (``\\x1b]52;…`` as visible characters): the test reaches what it attacks.
"""

from __future__ import annotations

import collections
import copy
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
import yaml

from cockpit.demo import scenario
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, demo_environment, demo_settings
from cockpit.config import build_settings
from tests.integration.hostile import HostileServer, Request, Wire

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OSC52 = "\x1b]52;c;cHduZWQ=\x07"
TITLE = "\x1b]0;PWNED-TITLE\x07\x1b]2;PWNED-TWO\x1b\\"
C1 = "\x9b31mC1CSI\x9d0;C1TITLE\x9c"
HOSTILE = f"[bold]MARK[/bold] [@click=app.quit]Q[/] [/ {OSC52}{TITLE}\x1b[2J\x1bc{C1} \u202eevil\u200b\u2066end"
# where a control character cannot travel (an S3 key in XML, a file name's path separator)
PRINTABLE = "[bold]MARK[/bold] [@click=app.quit]Q[/] \u202eevil\u200b"
CONTEXT = f"ctx-{HOSTILE}"

# the hostile sequences, as bytes a terminal would obey
RAW = [b"\x1b]52", b"\x1b]0;PWNED", b"\x1b]2;PWNED", b"PWNED-TITLE\x07", b"\x1b[2J\x1bc", b"\x1bc\xc2\x9b",
       "\u009b31m".encode(), "\u009d0;".encode(), "\u202e".encode(), "\u200b".encode(), "\u2066".encode()]

ESCAPE = re.compile(rb"\x1b(?:\[([0-?]*)([ -/]*)([@-~])|\]([0-9]*)[^\x07\x1b]*(?:\x07|\x1b\\)?|([PX^_])|([ -/]*[0-~]))")
C1_POINTS = re.compile("[\u0080-\u009f]")
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
FORBIDDEN_KINDS = re.compile(r"^(OSC (?!22$)|DCS|APC|PM|SOS|ESC c)")
# Textual's own OSC: 22 sets the mouse pointer's shape (a name such as "pointer" or "default"), nothing else
OSC22 = re.compile(rb"\x1b\]22;([^\x07\x1b]*)(?:\x07|\x1b\\)")


def kinds(raw: bytes) -> collections.Counter[str]:
    """The kinds of escape sequences in ``raw``: "CSI m", "CSI ?h", "OSC 52", "ESC c", …"""
    found: collections.Counter[str] = collections.Counter()
    for match in ESCAPE.finditer(raw):
        params, _inter, final, osc, string, other = match.groups()
        if final is not None:
            private = params[:1].decode() if params[:1] in (b"<", b"=", b">", b"?") else ""
            found[f"CSI {private}{final.decode()}"] += 1
        elif osc is not None:
            found[f"OSC {osc.decode() or '?'}"] += 1
        elif string is not None:
            found[{"P": "DCS", "X": "SOS", "^": "PM", "_": "APC"}[string.decode()]] += 1
        else:
            found[f"ESC {other.decode('latin-1')}"] += 1
    return found


def visible(raw: bytes) -> str:
    return ESCAPE.sub(b"", raw).decode("utf-8", "replace")


# --------------------------------------------------------------------------- the cockpit in a pty


class Terminal:
    """The real cockpit in a pseudo-terminal: every byte it writes is kept."""

    def __init__(self, argv: list[str], env: dict[str, str], home: Path, size: tuple[int, int] = (200, 50)) -> None:
        master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full = {key: value for key, value in os.environ.items() if not key.startswith(("COCKPIT_", "KUBECONFIG"))}
        full.update(env)
        full.update({"TERM": "xterm-256color", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                     "XDG_STATE_HOME": str(home / ".state"), "XDG_DATA_HOME": str(home / ".data"), "TZ": "UTC",
                     "COLUMNS": str(cols), "LINES": str(rows), "PYTHONPATH": str(ROOT)})
        full.pop("COLORTERM", None)
        full.pop("TEXTUAL", None)
        self.process = subprocess.Popen([sys.executable, "-m", "cockpit", *argv], stdin=slave, stdout=slave,
                                        stderr=slave, env=full, cwd=home, start_new_session=True)
        os.close(slave)
        self.master = master
        self.raw = bytearray()
        self.lock = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                break
            if not data:
                break
            with self.lock:
                self.raw += data
                self.lock.notify_all()

    def wait_text(self, text: str, timeout: float = 30.0, *, since: int = 0) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while text not in visible(bytes(self.raw[since:])):
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    return False
                self.lock.wait(min(left, 0.2))
            return True

    def mark(self) -> int:
        with self.lock:
            return len(self.raw)

    def press(self, *keys: str, pause: float = 0.35) -> None:
        for key in keys:
            os.write(self.master, key.encode())
            time.sleep(pause)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())
        time.sleep(0.3)

    def finish(self, timeout: float = 20.0) -> bytes:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            raise AssertionError(f"the cockpit did not quit; its screen ends: {visible(bytes(self.raw))[-1500:]}")
        finally:
            self.thread.join(timeout=5)
            os.close(self.master)
        return bytes(self.raw)


ESC = "\x1b"


def walk_live(term: Terminal) -> None:
    """Every screen of a live session, from the drill's runbook executor."""
    assert term.wait_text("steps", 40), visible(bytes(term.raw))[-2000:]
    term.press("\r", "s")  # the executor: proceed, then skip with a reason
    term.type("fuzz")
    term.press("\r", ESC, ESC)
    for pane in "123456":
        term.press(pane, "z", "z")
    term.press("2", "z", "down", "pagedown", "z")
    term.press("t", "down", "down", "\r", ESC, "down", "\r", ESC)  # the tree: explain a node
    term.press("?", ESC)  # help
    term.press("\x10")  # ctrl+p: the palette
    term.type("zoom")
    term.press("down", ESC, ESC)
    term.press("\x10", "\x1b[6~", ESC)  # palette then PageDown
    term.press("2", "a", pause=1.5)  # the confirmation modal (or a notification saying why not)
    term.press(ESC, ESC)
    term.press("w")  # is a time recoverable?
    term.type("-5m\r")
    term.press(ESC)
    term.press("c", "c", "c")  # every context tab: the hostile one, the plugin's
    term.press("1", "5", "6")
    time.sleep(1.0)
    term.press("q", "y")


def walk_replay(term: Terminal) -> None:
    assert term.wait_text("REPLAY", 40), visible(bytes(term.raw))[-2000:]
    term.press(" ", pause=1.0)
    term.press(" ", "]", "]", "[", "\x1b[C", "\x1b[C", "\x1b[D")
    for pane in "123456":
        term.press(pane, "z", "z")
    term.press("t", "down", "\r", ESC, "?", ESC, "\x10")
    term.type("rec")
    term.press(ESC, ESC, "c", "c")
    term.press("q")


# --------------------------------------------------------------------------- the hostile world


def hostile_prometheus(request: Request, wire: Wire) -> None:
    wire.json({"status": "error", "errorType": "bad_data", "error": f"parse error: {HOSTILE}"}, status=400)


def poison_kube(platform: DemoPlatform) -> None:
    kube = platform.kube
    ns = scenario.APP_NAMESPACE
    for kind, namespace in (("rollouts", ns), ("analysisruns", ns)):
        for obj in kube.list_objects("argoproj.io/v1alpha1", kind, namespace):
            obj = copy.deepcopy(obj)
            obj.setdefault("status", {})["message"] = HOSTILE
            for metric in obj["status"].get("metricResults", []):
                metric["message"] = HOSTILE
                for measurement in metric.get("measurements", []):
                    measurement["message"] = HOSTILE
            for condition in obj["status"].get("pauseConditions", []) or []:
                condition["reason"] = HOSTILE
            obj.setdefault("metadata", {}).setdefault("annotations", {})["note"] = HOSTILE
            kube.seed(obj)
    for obj in kube.list_objects("argoproj.io/v1alpha1", "applications", "argocd"):
        obj = copy.deepcopy(obj)
        status = obj.setdefault("status", {})
        for entry in status.get("history", []):
            entry["initiatedBy"] = {"username": HOSTILE}
        status.setdefault("health", {})["message"] = HOSTILE
        status.setdefault("operationState", {})["message"] = HOSTILE
        kube.seed(obj)
    for obj in kube.list_objects("postgresql.cnpg.io/v1", "clusters", scenario.CNPG_NAMESPACE):
        obj = copy.deepcopy(obj)
        for condition in obj.setdefault("status", {}).get("conditions", []):
            condition["message"] = HOSTILE
        obj["status"]["phaseReason"] = HOSTILE
        kube.seed(obj)
    for obj in kube.list_objects("velero.io/v1", "backups", "velero"):
        obj = copy.deepcopy(obj)
        obj.setdefault("status", {})["failureReason"] = HOSTILE
        obj["status"]["phase"] = "Failed"
        kube.seed(obj)
        break


def poison_git(repo: Path) -> None:
    (repo / f"notes-{HOSTILE.replace('/', '_')}.txt").write_text(HOSTILE, encoding="utf-8")  # no "/" in a name
    env = {**os.environ, "GIT_AUTHOR_NAME": HOSTILE, "GIT_AUTHOR_EMAIL": "x@example.com",
           "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@example.com"}
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-q", "-m", HOSTILE], cwd=repo, check=True, capture_output=True, env=env)


def poison_s3(platform: DemoPlatform) -> None:
    if platform.s3 is None:
        return
    client = platform.s3.client()
    key = f"{platform.s3.prefix}{PRINTABLE}.json"
    client.put_object(Bucket=platform.s3.bucket, Key=key, Body=b"{}")
    client.delete_object(Bucket=platform.s3.bucket, Key=key)


def add_contexts(platform: DemoPlatform, tmp_path: Path) -> tuple[str, ...]:
    """The demo context, one with a hostile name, one whose credential plugin fails with hostile stderr."""
    platform.kube.add_context(platform.kubeconfig, context=CONTEXT, namespace=scenario.APP_NAMESPACE)
    plugin = tmp_path / "plugin.py"
    plugin.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write({HOSTILE!r} * 3)\nsys.exit(1)\n")
    plugin.chmod(0o755)
    config = yaml.safe_load(Path(platform.kubeconfig).read_text())
    server = config["clusters"][0]["cluster"]["server"]
    config["clusters"].append({"name": "plugin-cluster", "cluster": {"server": server}})
    config["users"].append({"name": "plugin-user", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}})
    config["contexts"].append({"name": "plugin-ctx", "context": {
        "cluster": "plugin-cluster", "user": "plugin-user", "namespace": scenario.APP_NAMESPACE}})
    Path(platform.kubeconfig).write_text(yaml.safe_dump(config))
    return (DEMO_CONTEXT, CONTEXT, "plugin-ctx")


def write_config(path: Path, settings, *, contexts: tuple[str, ...], prometheus_url: str, record: Path,
                 drills: Path, service: str) -> None:
    values = {
        "kubeconfig": settings.kubeconfig, "context": list(contexts), "namespace": settings.namespace,
        "app": settings.app, "rollout": settings.rollout, "cnpg_cluster": settings.cnpg_cluster,
        "cnpg_namespace": settings.cnpg_namespace, "prometheus_url": prometheus_url, "service": service,
        "gitops_repo": settings.gitops_repo, "flag_url": settings.flag_url, "flag_key": settings.flag_key,
        "s3_endpoint": settings.s3_endpoint, "s3_bucket": settings.s3_bucket, "s3_prefix": settings.s3_prefix,
        "tenant_namespace": settings.tenant_namespace, "record": str(record), "drill_dir": str(drills),
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items() if value is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_session(tmp_path: Path, *, hostile: bool) -> tuple[bytes, bytes, str]:
    """A drill session then its replay; returns (live bytes, replay bytes, the live screen's text)."""
    work = tmp_path / ("hostile" if hostile else "clean")
    work.mkdir()
    platform = DemoPlatform("s3-restore", workdir=work / "platform").start()
    server = HostileServer(hostile_prometheus) if hostile else None
    try:
        if hostile:
            poison_kube(platform)
            poison_git(Path(platform.gitops_repo))
            poison_s3(platform)
            platform.flags.set(scenario.FLAG, True, HOSTILE)
            contexts = add_contexts(platform, work)
        else:
            contexts = (DEMO_CONTEXT,)
        settings = demo_settings(build_settings({}), platform)
        config = work / "cockpit.toml"
        record = work / "session.cockpit"
        write_config(config, settings, contexts=contexts, record=record, drills=work / "drills",
                     prometheus_url=server.url if server else settings.prometheus_url,
                     service=HOSTILE if hostile else settings.service)
        env = demo_environment(platform, settings)
        live = Terminal(["drill", scenario_runbook(platform), "--config", str(config)], env, work)
        walk_live(live)
        live_raw = live.finish()
    finally:
        if server is not None:
            server.stop()
        platform.stop()
    assert record.exists(), visible(live_raw)[-2000:]
    replay = Terminal(["replay", str(record)], {}, work, size=(160, 45))
    walk_replay(replay)
    return live_raw, replay.finish(), visible(live_raw)


def scenario_runbook(platform: DemoPlatform) -> str:
    return platform.scenario.runbook


def forbidden(raw: bytes, allowed: set[str]) -> list[str]:
    problems: list[str] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        problems.append(f"not UTF-8 (a raw C1 byte?): {err}")
        text = raw.decode("utf-8", "replace")
    for kind, count in kinds(raw).items():
        if FORBIDDEN_KINDS.match(kind) or kind not in allowed:
            problems.append(f"{count}× {kind}")
    for found in set(C1_POINTS.findall(text)):
        problems.append(f"C1 control U+{ord(found):04X}")
    for found in set(INVISIBLE.findall(text)):
        problems.append(f"invisible/bidi U+{ord(found):04X}")
    for shape in set(OSC22.findall(raw)):
        if not re.fullmatch(rb"[a-z-]{1,32}", shape):
            problems.append(f"OSC 22 with {shape[:40]!r}")
    for sequence in RAW:
        if sequence in raw:
            problems.append(f"hostile bytes {sequence!r}")
    return problems


def test_hostile_input_never_reaches_the_terminal(tmp_path: Path) -> None:
    clean_live, clean_replay, _ = run_session(tmp_path, hostile=False)
    allowed = set(kinds(clean_live)) | set(kinds(clean_replay))
    assert not [kind for kind in allowed if FORBIDDEN_KINDS.match(kind)], allowed
    live, replay, shown = run_session(tmp_path, hostile=True)
    assert not forbidden(live, allowed), f"live session: {forbidden(live, allowed)}"
    assert not forbidden(replay, allowed), f"replay: {forbidden(replay, allowed)}"
    # the hostile text was drawn, literally: the test reached what it attacks
    assert "\\x1b]52;c;cHduZWQ=\\x07" in shown
    assert "[bold]MARK[/bold]" in shown
    assert "\\u202eevil\\u200b" in shown
    assert "[bold]MARK[/bold]" in visible(replay)
