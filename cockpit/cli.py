"""Command line: argv -> Settings -> the app.  Bad input ends here with one clear line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cockpit import __version__
from cockpit.config import ConfigError, Settings, build_settings

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        self.exit(EXIT_USAGE, f"cockpit: {message} (see cockpit --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cockpit",
        description="The on-call's rollback cockpit: Argo CD history, the Argo Rollouts canary, its AnalysisRuns, "
        "the p99, the CNPG recovery window and Velero backups on one screen.",
        epilog="Subcommands: 'cockpit demo' runs the cockpit against an embedded demo platform (no cluster needed). "
        "Every flag can also be set in the config file (--config, default: the platform config dir) "
        "or as COCKPIT_<FLAG> in the environment.",
    )
    parser.add_argument("--version", action="version", version=f"cockpit {__version__}")
    parser.add_argument("--config", dest="config_path", metavar="PATH", help="TOML config file")
    parser.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--context", dest="contexts", action="append", metavar="NAME",
                        help="kube context; repeat for several clusters (one tab each)")
    parser.add_argument("-n", "--namespace", metavar="NS", help="namespace of the Rollout and its AnalysisRuns")
    parser.add_argument("--app", metavar="NAME", help="Argo CD Application (default: pick from a list)")
    parser.add_argument("--argocd-namespace", metavar="NS", help="namespace of Argo CD Applications (default argocd)")
    parser.add_argument("--rollout", metavar="NAME", help="Argo Rollouts Rollout (default: pick from a list)")
    parser.add_argument("--cnpg-cluster", metavar="NAME", help="CloudNativePG cluster (default: all, pick one)")
    parser.add_argument("--cnpg-namespace", metavar="NS", help="namespace of the CNPG clusters (default: --namespace)")
    parser.add_argument("--velero-namespace", metavar="NS", help="namespace of Velero (default velero)")
    parser.add_argument("--prometheus-url", metavar="URL", help="Prometheus base URL")
    parser.add_argument("--promql", metavar="QUERY", help="latency query (default: the service's p99)")
    parser.add_argument("--service", metavar="NAME", help="service the default p99 query selects (default catalog)")
    parser.add_argument("--slo", type=_positive_float, metavar="SECONDS", help="p99 objective in seconds (default 0.5)")
    parser.add_argument("--read-only", action="store_true", default=None, help="never write to any backend")
    evidence = parser.add_argument_group("decision-tree evidence (optional)")
    evidence.add_argument("--gitops-repo", metavar="PATH", help="local clone of the GitOps repository")
    evidence.add_argument("--migrations-dir", metavar="DIR", help="SQL migrations in that repo (default migrations/)")
    evidence.add_argument("--flag-url", metavar="URL", help="feature-flag state as JSON (e.g. Flagsmith's flags API)")
    evidence.add_argument("--flag-key", metavar="NAME", help="the flag to read from that answer")
    evidence.add_argument("--s3-endpoint", metavar="URL", help="S3 endpoint (default: AWS)")
    evidence.add_argument("--s3-bucket", metavar="NAME", help="versioned bucket to check for delete markers")
    evidence.add_argument("--s3-prefix", metavar="PREFIX", help="key prefix in that bucket")
    evidence.add_argument("--tenant-namespace", metavar="NS", help="namespace whose loss means a Velero restore")
    parser.add_argument("command", nargs="?", choices=["demo"], help=argparse.SUPPRESS)
    return parser


def parse_settings(argv: Sequence[str] | None = None) -> tuple[Settings, str | None]:
    args = make_parser().parse_args(argv)
    values = {key: value for key, value in vars(args).items() if key != "command"}
    if values.get("contexts"):
        values["contexts"] = tuple(values["contexts"])
    return build_settings(values), args.command


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings, command = parse_settings(argv)
        if command == "demo":
            from cockpit.demo.platform import run_demo

            return run_demo(settings)
        from cockpit.app import CockpitApp, connect

        targets = connect(settings)
        app = CockpitApp(settings, targets)
        app.run()
        return app.return_code or 0
    except ConfigError as err:
        print(f"cockpit: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
