"""Command line: argv -> Settings -> the app.  Bad input ends here with one clear line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from cockpit import __version__
from cockpit.config import ConfigError, Settings, build_settings

EXIT_USAGE = 2
_TIMELINE_OPTIONS: dict[str, Any] = {}  # --json / --layer of the last parse (only 'timeline' takes them)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        self.exit(EXIT_USAGE, f"cockpit: {message} (see cockpit --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def _slo(text: str) -> float:
    from cockpit.config import RANGES

    value = _positive_float(text)
    low, high, unit = RANGES["slo"]
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g} {unit}: {text!r}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cockpit",
        usage="cockpit [options] | cockpit demo [RUNBOOK-TO-DRILL] [--scenario NAME] | cockpit replay FILE | "
        "cockpit watch FILE | cockpit timeline FILE [--json] [--layer L] | "
        "cockpit drill RUNBOOK [--demo]|--next | cockpit resume FILE",
        description="The on-call's rollback cockpit: Argo CD history, the Argo Rollouts canary, its AnalysisRuns, "
        "the p99, the CNPG recovery window and Velero backups on one screen.",
        epilog="Subcommands: 'cockpit demo' runs the cockpit against an embedded demo platform (no cluster needed); "
        "'cockpit replay FILE' replays a recorded session, read-only, with no network at all; "
        "'cockpit watch FILE' mirrors a session while it is being recorded (read-only, no credentials, no network: "
        "a second SSH session on the bastion); 'cockpit timeline FILE' prints its cross-layer timeline as Markdown "
        "(--json for an incident tool); "
        "'cockpit drill RUNBOOK' runs a recorded, timed drill of a runbook against a non-production context and "
        "writes dr-drill-YYYY-MM.md ('cockpit drill --next' names next month's runbook; --demo drills it on the "
        "demo platform); 'cockpit resume FILE' continues the runbook runs an interrupted session left unfinished. "
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
    parser.add_argument("--slo", type=_slo, metavar="SECONDS", help="p99 objective in seconds (default 0.5)")
    parser.add_argument("--read-only", action="store_true", default=None, help="never write to any backend")
    evidence = parser.add_argument_group("decision-tree evidence (optional)")
    evidence.add_argument("--gitops-repo", metavar="PATH", help="local clone of the GitOps repository")
    evidence.add_argument("--migrations-dir", metavar="DIR", help="SQL migrations in that repo (default migrations/)")
    evidence.add_argument("--flag-url", metavar="URL", help="feature-flag state as JSON (e.g. Flagsmith's flags API)")
    evidence.add_argument("--flag-key", metavar="NAME", help="the flag to read from that answer")
    evidence.add_argument("--flag-admin-url", metavar="URL", help="the flag provider's admin API (Flagsmith) for "
                          "flipping the flag from a runbook")
    evidence.add_argument("--flag-environment-key", metavar="KEY", help="the flag provider's environment key")
    evidence.add_argument("--flag-admin-token-env", metavar="VAR", help="environment variable holding the admin "
                          "token (default FLAGSMITH_ADMIN_TOKEN; the token itself is never a flag or a setting)")
    evidence.add_argument("--helm-release", metavar="NAME", help="Helm release that owns the workload")
    evidence.add_argument("--s3-endpoint", metavar="URL", help="S3 endpoint (default: AWS)")
    evidence.add_argument("--s3-bucket", metavar="NAME", help="versioned bucket to check for delete markers")
    evidence.add_argument("--s3-prefix", metavar="PREFIX", help="key prefix in that bucket")
    evidence.add_argument("--tenant-namespace", metavar="NS", help="namespace whose loss means a Velero restore")
    session = parser.add_argument_group("recording, replay and drills")
    session.add_argument("--no-record", action="store_true", default=None, help="do not record this session")
    session.add_argument("--record", metavar="PATH", help="record to this file (default: the user data dir)")
    session.add_argument("--drill-dir", metavar="DIR", help="drill reports (dr-drill-YYYY-MM.md); committed when "
                         "DIR is itself the top of a git repository (never under --read-only)")
    session.add_argument("--next", dest="next_drill", action="store_true", help="with 'drill': name next month's "
                         "runbook from the rotation and exit")
    from cockpit.demo.scenarios import SCENARIOS  # plain data, no backend

    session.add_argument("--scenario", dest="demo_scenario", metavar="NAME", choices=list(SCENARIOS),
                         help="with 'demo' (or 'drill'): the incident to play, one per regression class: "
                         f"{', '.join(SCENARIOS)} (default: the one made for RUNBOOK, else forward-only)")
    session.add_argument("--demo", dest="drill_demo", action="store_true",
                         help="with 'drill': drill RUNBOOK on the embedded demo platform, in its scenario")
    session.add_argument("--json", dest="timeline_json", action="store_true",
                         help="with 'timeline': JSON (absolute UTC times) instead of Markdown")
    session.add_argument("--layer", dest="timeline_layers", action="append", metavar="LAYER",
                         help="with 'timeline': only these layers (repeat; argocd, rollout, analysis, p99, flag, "
                         "cnpg, velero, tree, person, runbook, action, session)")
    parser.add_argument("command", nargs="?", choices=["demo", "replay", "drill", "resume", "watch", "timeline"],
                        help=argparse.SUPPRESS)
    parser.add_argument("operand", nargs="?", help=argparse.SUPPRESS)
    return parser


def parse_settings(argv: Sequence[str] | None = None) -> tuple[Settings, str | None]:
    settings, command, _operand, _next = parse_command(argv)
    return settings, command


def parse_command(argv: Sequence[str] | None = None) -> tuple[Settings, str | None, str | None, bool]:
    settings, command, operand, next_drill, _scenario = parse_command_line(argv)
    return settings, command, operand, next_drill


def parse_command_line(argv: Sequence[str] | None = None) -> tuple[Settings, str | None, str | None, bool, str | None]:
    """(settings, command, operand, --next, --scenario)."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.demo_scenario is not None and args.command not in ("demo", "drill"):
        parser.error("--scenario goes with 'demo': cockpit demo --scenario NAME")
    if args.drill_demo and args.command != "drill":
        parser.error("--demo goes with 'drill': cockpit drill RUNBOOK --demo")
    if args.command == "drill" and (args.drill_demo or args.demo_scenario is not None):
        args.command, args.demo_scenario = "demo", args.demo_scenario
        if not args.operand:
            parser.error("drill needs a runbook: cockpit drill RUNBOOK --demo")
    if (args.timeline_json or args.timeline_layers) and args.command != "timeline":
        parser.error("--json and --layer go with 'timeline': cockpit timeline FILE --json")
    if args.timeline_layers:
        from cockpit.timeline import LAYERS

        unknown = [layer for layer in args.timeline_layers if layer not in LAYERS]
        if unknown:
            parser.error(f"unknown layer {unknown[0]!r} (one of {', '.join(LAYERS)})")
    _TIMELINE_OPTIONS.update(json=bool(args.timeline_json), layers=tuple(args.timeline_layers or ()))
    values = {key: value for key, value in vars(args).items()
              if key not in ("command", "operand", "next_drill", "demo_scenario", "drill_demo", "timeline_json",
                             "timeline_layers")}
    if values.get("contexts"):
        values["contexts"] = tuple(values["contexts"])
    if args.command in ("replay", "watch", "timeline") and not args.operand:
        parser.error(f"{args.command} needs the recording: cockpit {args.command} FILE")
    if args.command == "resume" and not args.operand:
        parser.error("resume needs the recording of the interrupted session: cockpit resume FILE")
    if args.command is None and args.operand:
        parser.error(f"unexpected argument {args.operand!r}")
    return build_settings(values), args.command, args.operand, bool(args.next_drill), args.demo_scenario


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings, command, operand, next_drill, scenario = parse_command_line(argv)
        if command in (None, "demo", "replay", "watch", "drill", "resume"):
            from cockpit import memory

            memory.hold()  # no collection while the app's modules load; the session settles it (cockpit/memory.py)
        if command == "demo":
            return run_demo(settings, drill=operand, scenario=scenario)
        if command == "replay":
            return run_replay(settings, operand or "")
        if command == "watch":
            return run_watch(settings, operand or "")
        if command == "timeline":
            return run_timeline(operand or "", as_json=_TIMELINE_OPTIONS.get("json", False),
                                layers=_TIMELINE_OPTIONS.get("layers", ()))
        if command == "drill":
            return run_drill(settings, operand, next_drill)
        if command == "resume":
            return run_live(settings, resume=operand)
        return run_live(settings)
    except ConfigError as err:
        from cockpit.redact import redact_text

        print(f"cockpit: {redact_text(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        from cockpit import memory

        memory.release()


def run_live(settings: Settings, *, drill: str | None = None, resume: str | None = None) -> int:
    from cockpit.app import CockpitApp
    from cockpit.session import connect, open_session, start_recording

    if resume and not settings.contexts:
        settings = _contexts_of(settings, resume)
    targets = connect(settings)
    if drill:
        production = [t.name for t in targets if t.production]
        if production:
            raise ConfigError(f"a drill runs against a non-production context; {', '.join(production)} is marked "
                              "production = true")
    sink, note = start_recording(settings, targets, path=settings.record, is_drill=bool(drill), runbook=drill or "")
    session = open_session(settings, targets, recorder=sink, drill=drill)
    if resume:
        from cockpit.session.resume import resume as resume_runs

        note = "; ".join([note, *resume_runs(session, resume)])
    app = CockpitApp(session, recording_note=note)
    try:
        app.run()
    finally:
        if sink is not None:
            sink.close()
    if sink is not None:
        print(f"cockpit: session recorded to {sink.path}", file=sys.stderr)
    return app.return_code or 0


def _contexts_of(settings: Settings, path: str) -> Settings:
    """The contexts an interrupted session watched (from its recording), when none is given on the command line."""
    import dataclasses

    from cockpit.replay import open_player

    player = open_player(path)
    try:
        contexts = tuple(player.meta.contexts)
    finally:
        player.close()
    return dataclasses.replace(settings, contexts=contexts) if contexts else settings


def replay_app(settings: Settings, player: Any) -> Any:
    """The cockpit over a recording (read-only, offline)."""
    from cockpit.app import CockpitApp
    from cockpit.replay import replay_session

    return CockpitApp(replay_session(settings, player), start_feeds=False)


def run_replay(settings: Settings, path: str) -> int:
    from cockpit.replay import open_player

    player = open_player(path)
    try:
        app = replay_app(settings, player)
        app.run()
        return app.return_code or 0
    finally:
        player.close()
        if player.damage:
            print(f"cockpit: {path}: {player.damage}", file=sys.stderr)


def watch_app(settings: Settings, player: Any) -> Any:
    """The live mirror of a recording being written (read-only, offline)."""
    from cockpit.app import CockpitApp
    from cockpit.session.follow import mirror_session

    return CockpitApp(mirror_session(settings, player), start_feeds=False)


def run_watch(settings: Settings, path: str) -> int:
    """`cockpit watch FILE`: follow a session's recording as it is written, at this terminal's size."""
    from cockpit.replay import open_player

    player = open_player(path)
    try:
        app = watch_app(settings, player)
        app.run()
        return app.return_code or 0
    finally:
        player.close()
        if player.damage:
            print(f"cockpit: {path}: {player.damage}", file=sys.stderr)


def run_timeline(path: str, *, as_json: bool = False, layers: Sequence[str] = ()) -> int:
    """`cockpit timeline FILE [--json] [--layer L]`: the cross-layer timeline on stdout."""
    from cockpit import timeline
    from cockpit.replay import open_player

    player = open_player(path)
    try:
        builder = timeline.TimelineBuilder(player)
        builder.update()
        entries = builder.entries(layers or None)
        if as_json:
            print(timeline.to_json(entries, player))
        else:
            contexts = ", ".join(player.meta.contexts) or "unknown context"
            print(timeline.to_markdown(entries, heading=f"## Timeline of {player.path.name} ({contexts}), UTC"))
        if player.damage:
            print(f"cockpit: {path}: {player.damage}", file=sys.stderr)
        return 0
    finally:
        player.close()


def run_demo(settings: Any, *, drill: str | None = None, scenario: str | None = None) -> int:
    """`cockpit demo [RUNBOOK] [--scenario NAME]`: start the platform, run the normal cockpit against it (drilling
    RUNBOOK when given), tear it down.  The session is recorded like any other."""
    import os

    from cockpit.demo.platform import DemoPlatform, DemoUnavailable, demo_environment, demo_settings, pick_scenario

    try:
        name = pick_scenario(scenario, drill)
    except ValueError as err:
        print(f"cockpit: {err}", file=sys.stderr)
        return 2
    try:
        platform = DemoPlatform(name).start()
    except DemoUnavailable as err:
        print(f"cockpit: {err}", file=sys.stderr)
        return 2
    from cockpit.app import CockpitApp
    from cockpit.session import connect, open_session, start_recording

    sink = None
    try:
        for note in platform.notes:
            print(f"cockpit demo: {note}", file=sys.stderr)
        demo = demo_settings(settings, platform)
        os.environ.update(demo_environment(platform, demo))
        targets = connect(demo, note=f"demo platform on 127.0.0.1: scenario {name} ({platform.scenario.runbook})")
        sink, note = start_recording(demo, targets, path=demo.record, is_drill=bool(drill), runbook=drill or "")
        app = CockpitApp(open_session(demo, targets, recorder=sink, drill=drill), recording_note=note)
        app.run()
        return app.return_code or 0
    finally:
        if sink is not None:
            sink.close()
            print(f"cockpit: session recorded to {sink.path} (replay it: cockpit replay {sink.path})",
                  file=sys.stderr)
        platform.stop()



def run_drill(settings: Settings, runbook: str | None, next_drill: bool) -> int:
    from datetime import datetime, timezone

    from cockpit.drill import ROTATION, next_drill as rotation_next

    if next_drill:
        today = datetime.now(timezone.utc).date()
        name = rotation_next(settings.reports_dir(), today)
        print(f"next month's drill: {name} (rotation: {' -> '.join(ROTATION)}; reports in {settings.reports_dir()})")
        return 0
    if not runbook:
        raise ConfigError("drill needs a runbook: cockpit drill RUNBOOK (or --next to name the next one)")
    from cockpit.runbooks import RunbookError, get

    try:
        get(runbook)
    except (RunbookError, FileNotFoundError, KeyError) as err:
        raise ConfigError(f"no runbook {runbook!r}: {err}") from None
    return run_live(settings, drill=runbook)
