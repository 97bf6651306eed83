"""Nothing heavy before the first frame: the backends' client libraries are imported when a feed needs them, and
the Kubernetes client only in part (``cockpit.sources.kubeimport``: never its ~770 model classes).

Each check runs in a fresh interpreter (``sys.modules`` of this test process already holds everything)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("kubernetes", "boto3", "botocore", "git", "prometheus_api_client", "urllib3", "requests", "pglast")


def modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_the_command_line_imports_no_backend():
    assert _roots(modules_after("import cockpit.cli")) & set(BACKENDS) == set()


def test_the_first_frame_imports_no_backend():
    """What the App and the dashboard need to draw (the session's feeds import their clients in threads)."""
    loaded = modules_after("import cockpit.cli, cockpit.app, cockpit.session\n"
                           "from cockpit.screens.dashboard import DashboardScreen")
    assert _roots(loaded) & set(BACKENDS) == set()


KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: here
clusters:
- name: here
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: me
  user: {token: not-a-real-token}
contexts:
- name: here
  context: {cluster: here, user: me, namespace: apps}
"""


def test_a_kube_context_loads_the_client_without_its_models(tmp_path: Path):
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG, encoding="utf-8")
    loaded = modules_after(
        "from pathlib import Path\n"
        "from cockpit.sources.kube import KubeContext\n"
        f"ctx = KubeContext.from_kubeconfig(Path({str(config)!r}), 'here')\n"
        "assert ctx.namespace == 'apps' and ctx.server == 'https://127.0.0.1:1'\n"
    )
    assert {"kubernetes.client.api_client", "kubernetes.config.kube_config"} <= loaded
    models = {name for name in loaded if name.startswith("kubernetes.client.models.")}
    apis = {name for name in loaded if name.startswith("kubernetes.client.api.")}
    assert models == set() and apis == set()
    assert not {"boto3", "git", "prometheus_api_client"} & _roots(loaded)


def test_the_full_client_still_works_after_the_partial_import(tmp_path: Path):
    """Code that uses the whole client later in the same process (a test, a plugin) gets the same package,
    completed on first use: the same classes, models deserialised."""
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG, encoding="utf-8")
    modules_after(
        "from pathlib import Path\n"
        "from cockpit.sources.kube import KubeContext\n"
        f"ctx = KubeContext.from_kubeconfig(Path({str(config)!r}), 'here')\n"
        "import kubernetes\n"
        "from kubernetes import client, config, watch\n"
        "from kubernetes.client.api_client import ApiClient\n"
        "assert client.ApiClient is ApiClient and type(ctx.api_client) is ApiClient\n"
        "assert kubernetes.__version__ and client.CoreV1Api and watch.Watch and config.load_kube_config\n"
        "pod = ctx.api_client.deserialize(type('R', (), {'data': '{\"metadata\": {\"name\": \"p\"}}'})(), 'V1Pod')\n"
        "assert type(pod) is client.V1Pod and pod.metadata.name == 'p'\n"
    )


def test_client_libraries_are_imported_one_thread_at_a_time(tmp_path: Path):
    """The Kubernetes and Prometheus threads start together; Python 3.11 importing ``requests`` from both at once
    can give one of them a partially initialised module (a pane then said its library was not installed).  Both
    import under ``cockpit.sources.IMPORT_LOCK``: while another thread holds it, neither imports anything."""
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG, encoding="utf-8")
    modules_after(
        "import sys, threading\n"
        "from pathlib import Path\n"
        "from cockpit.sources import IMPORT_LOCK\n"
        "from cockpit.sources.kube import KubeContext\n"
        "from cockpit.sources.prometheus import PrometheusSource\n"
        "source = PrometheusSource('http://127.0.0.1:1', 'up', slo_seconds=0.5)\n"
        f"kube = threading.Thread(target=KubeContext.from_kubeconfig, args=(Path({str(config)!r}), 'here'))\n"
        "prom = threading.Thread(target=source.connect)\n"
        "with IMPORT_LOCK:\n"
        "    kube.start(); prom.start()\n"
        "    kube.join(0.3); prom.join(0.3)\n"
        "    assert not {'requests', 'urllib3', 'kubernetes', 'prometheus_api_client'} & set(sys.modules)\n"
        "kube.join(60); prom.join(60)\n"
        "assert not kube.is_alive() and not prom.is_alive()\n"
        "assert {'requests', 'kubernetes.client.api_client', 'prometheus_api_client'} <= set(sys.modules)\n"
    )
