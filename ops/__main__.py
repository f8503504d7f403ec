"""``python -m ops doctor|verify|audit|instructions|discover --stack <name> [--json]``; the
Makefile calls it. ``python -m ops fleet up|preview|drift|destroy [--stacks ...]``: every
stack at once (make fleet-up, fleet-preview, fleet-drift, fleet-destroy; see ``ops.fleet``).

Exit codes of doctor and verify: 0 no check failed (what was not checked is said: the Level
side in manual mode), 1 a check failed, 2 the command could not run (no such stack file,
invalid settings, no confirmation for a real alert, interrupted). Of audit (ops/audit.py): 0
clean or nothing to judge, 1 findings, 2 could not run. Of instructions: 0, or 2. Of fleet: 0
every stack ran and none drifted, 7 some stack drifted, 2 some stack failed or the fleet could
not run. Of discover (ops/discover.py): 0 written, 1 nothing to write, 2 could not run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ops import audit as ops_audit
from ops import discover, fleet, manual
from ops.doctor import Apis, Doctor
from ops.ids import Outputs, stack_outputs, with_created
from ops.report import (
    EXIT_COULD_NOT_RUN,
    EXIT_FAILED,
    EXIT_OK,
    Check,
    as_json,
    dump,
    exit_code,
    render,
)
from ops.stack import Stack, StackError, load_stack
from ops.verify import Verify


def parser() -> argparse.ArgumentParser:
    """The command line: two subcommands sharing the stack options."""
    main = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", default="sandbox", help="stack name (Pulumi.<stack>.yaml)")
    common.add_argument("--project-dir", type=Path, default=Path.cwd(),
                        help="folder with Pulumi.yaml (default: here)")
    common.add_argument("--integration", default=None,
                        help="one integration's name or resource name (default: all)")
    common.add_argument("--json", action="store_true", help="print one JSON document")
    commands = main.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser(
        "doctor", parents=[common], help="check each integration, GETs only"
    )
    doctor.add_argument(
        "--probe-write", action="store_true",
        help="also send one Level write that changes nothing, to tell a read-only key",
    )
    verify = commands.add_parser(
        "verify", parents=[common], help="send a test alert end to end and resolve it"
    )
    verify.add_argument("--yes", action="store_true",
                        help="confirm a real alert (pages the on-call person)")
    verify.add_argument(
        "--timeout", type=float, default=None,
        help="seconds to wait for each change (default 60; manual mode on real accounts 600: "
        "a person raises and resolves the alert in Level)",
    )
    verify.add_argument("--poll", type=float, default=1.0, help="seconds between looks")
    verify.add_argument(
        "--send-delivery", action="store_true",
        help="post a Level-shaped delivery even on the sandbox (the real-account method)",
    )
    audit = commands.add_parser(
        "audit", parents=[common],
        help="prove the Level side from evidence: Level's alerts against ilert's, GETs only",
        description=ops_audit.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("--window", default="24h",
                       help="how far back: 24h (default), 90m, 7d, or seconds")
    audit.add_argument("--since", default=None, help="window start, ISO-UTC (instead of --window)")
    audit.add_argument("--until", default=None, help="window end, ISO-UTC (default: now)")
    audit.add_argument(
        "--settle", type=float, default=ops_audit.DEFAULT_SETTLE,
        help="leave alerts of the last SECONDS unjudged (default 120: Level retries a "
        "delivery for minutes; the sandbox delivers at once: 0)",
    )
    steps = commands.add_parser(
        "instructions", parents=[common],
        help="print each integration's Level UI steps as plain numbered text",
    )
    steps.add_argument("--show-secrets", action="store_true",
                       help="put each integration's ilert URL (a secret) into its steps")
    found = commands.add_parser(
        "discover", help="write Pulumi.<stack>.yaml from the hand-made setup, GETs only",
        description=discover.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    found.add_argument("--stack", required=True, help="stack name (writes Pulumi.<stack>.yaml)")
    found.add_argument("--project-dir", type=Path, default=Path.cwd(),
                       help="folder with Pulumi.yaml (default: here)")
    found.add_argument("--json", action="store_true", help="print one JSON document")
    found.add_argument("--force", action="store_true",
                       help="replace an existing stack file (a backup is kept; its secrets stay)")
    found.add_argument("--print", dest="print_only", action="store_true",
                       help="write nothing; print only the level-ilert:integrations block")
    fleet.add_parser(commands)
    return main


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    outputs: Outputs | None = None,
    verify_factory: type[Verify] = Verify,
) -> int:
    """Run one command; returns the exit code (``outputs`` lets tests skip the CLI probe)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    if args.command == "discover":
        options = discover.Options(
            stack=args.stack, project_dir=args.project_dir, force=args.force,
            print_only=args.print_only, json=args.json,
        )
        return discover.run(options, out, err)
    if args.command == "fleet":
        return fleet.main(args, out, err, sys.stdin)
    if args.command == "instructions" and not args.show_secrets:
        outputs = outputs or Outputs(None, "not needed (no URL is shown)")
    try:
        stack = load_stack(args.stack, args.project_dir)
        stack.integrations(args.integration)  # an unknown INTEGRATION stops here
    except StackError as exc:
        err.write(f"{exc}\n")
        return EXIT_COULD_NOT_RUN
    try:
        apis = Apis.of(stack)
    except ValueError as exc:  # a base URL that is not https (or loopback http)
        err.write(f"Pulumi.{stack.name}.yaml: {exc}\n")
        return EXIT_COULD_NOT_RUN
    found = outputs if outputs is not None else stack_outputs(
        stack.name, project_dir=args.project_dir
    )
    if outputs is None and args.command == "audit":
        found = with_created(found, stack.name, project_dir=args.project_dir)
    return _command(stack, found, apis, args, (out, err), verify_factory)


def _command(  # noqa: PLR0917 (the parts main has already built)
    stack: Stack,
    outputs: Outputs,
    apis: Apis,
    args: argparse.Namespace,
    streams: tuple[TextIO, TextIO],
    verify_factory: type[Verify],
) -> int:
    """One of the stack's commands, once the stack and its clients are built."""
    out, err = streams
    if args.command == "doctor":
        return _doctor(stack, outputs, apis, args, out)
    if args.command == "audit":
        return _audit(stack, outputs, apis, args, out, err)
    if args.command == "verify":
        return _verify(stack, outputs, apis, args, out, err, verify_factory)
    return manual.print_instructions(
        stack, outputs, apis, only=args.integration, show_secrets=args.show_secrets,
        as_json=args.json, out=out, err=err,
    )


def _where(stack: Stack) -> str:
    ilert = stack.ilert.base_url if stack.ilert else "ilert: no token"
    level = stack.level.base_url if stack.level else "Level: no key"
    return f"ilert {ilert}, Level {level}, webhook management {stack.settings.webhook_management}"


def _doctor(
    stack: Stack, outputs: Outputs, apis: Apis, args: argparse.Namespace, out: TextIO
) -> int:
    checks = Doctor(stack, outputs, apis, probe_write=args.probe_write).run(args.integration)
    code = exit_code(checks)
    not_checked = [c.id for c in checks if c.status == "skip"]
    if args.json:
        dump({
            "command": "doctor", "stack": stack.name, "ok": code == EXIT_OK,
            "not_checked": not_checked, "ids_from": outputs.origin, "checks": as_json(checks),
        }, out)
        return code
    out.write(f"level-ilert doctor, stack {stack.name} ({_where(stack)})\n")
    out.write(f"ids from {outputs.origin}\n")
    headings = {
        "credentials": "Credentials",
        "routing": "Routing (which ilert sources open an alert for each kind of Level alert)",
    }
    for integration in stack.integrations(args.integration):
        headings[integration.name] = f"{integration.name} (resource {integration.pulumi_name})"
    render(checks, headings, out)
    out.write(f"\n{doctor_verdict(stack, checks)}\n")
    return code


def doctor_verdict(stack: Stack, checks: Sequence[Check]) -> str:
    """The last line: what failed, and never "all checks passed" when something was not
    checked (the Level side of a manual-mode stack is never checked by doctor)."""
    failed = sum(c.status == "fail" for c in checks)
    skipped = [c for c in checks if c.status == "skip"]
    if failed:
        return f"{failed} check(s) failed" + (
            f", {len(skipped)} not checked" if skipped else ""
        )
    if not skipped:
        return "all checks passed"
    if stack.settings.webhook_management != "api":
        return (
            f"no check failed, but the Level side was NOT checked (manual mode: Level's API "
            f"cannot show webhooks): `make audit STACK={stack.name}` checks it from evidence"
        )
    return f"no check failed, but {len(skipped)} check(s) were not made (see - above)"


def _audit(  # noqa: PLR0917 (the parts main has already built)
    stack: Stack,
    outputs: Outputs,
    apis: Apis,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> int:
    def cannot(message: str) -> int:
        err.write(f"audit could not run: {message}\n")
        if args.json:
            dump({"command": "audit", "stack": stack.name, "ok": False, "error": message,
                  "findings": []}, out)
        return EXIT_COULD_NOT_RUN

    try:
        window = ops_audit.window_of(args.window, args.since, args.until, args.settle)
    except ValueError as exc:
        return cannot(str(exc))
    try:
        report = ops_audit.Audit(stack, outputs, apis, window, only=args.integration).run()
    except ops_audit.AuditError as exc:
        return cannot(str(exc))
    if args.json:
        dump(report.as_json(), out)
    else:
        ops_audit.render(report, out, [i.name for i in stack.integrations(args.integration)])
    return report.code


def _verify(  # noqa: PLR0917 (the parts main has already built)
    stack: Stack,
    outputs: Outputs,
    apis: Apis,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    factory: type[Verify],
) -> int:
    integrations = stack.integrations(args.integration)
    if apis.ilert is None:  # before the warning: without ilert nothing is sent anywhere
        err.write(f"{stack.ilert_problem}\n")
        return EXIT_COULD_NOT_RUN
    verify = factory(
        stack, outputs, apis, timeout=args.timeout, poll=args.poll,
        send_delivery=args.send_delivery, progress=err,
    )
    names = ", ".join(repr(i.name) for i in integrations)
    if verify.sandbox:
        err.write(
            f"verify on the sandbox ({names}): nobody is paged. Each test alert is raised where "
            "only its integration should receive it; every alert it opens is resolved again.\n"
        )
    elif verify.by_person:
        err.write(
            f"verify in manual mode ({names}): it sends nothing itself. It tests each "
            "integration with an alert raised in Level, through your hand-made webhook: an "
            "active one the declared routing sends there, or one you raise when asked (it pages "
            "like any alert). It waits up to "
            f"{verify.timeout:g} s for each step (TIMEOUT=<seconds>).\n"
        )
    else:
        err.write(
            f"WARNING: verify sends a real test alert to ilert alert source(s) {names} of stack "
            f"{stack.name}. It pages the on-call person of each source's escalation policy. "
            "The alert is resolved again right after, also on Ctrl-C.\n"
        )
        if not args.yes:
            err.write("Not sent: confirm with --yes (make verify YES=1).\n")
            return EXIT_COULD_NOT_RUN
    results = []
    for integration in integrations:
        result = verify.run(integration)
        results.append(result)
        if result.interrupted:
            break
    interrupted = any(r.interrupted for r in results)
    ok = all(r.ok for r in results) and not interrupted
    not_checked = [s for r in results for s in r.not_checked]
    if args.json:
        dump({
            "command": "verify", "stack": stack.name, "mode": verify.mode, "ok": ok,
            "not_checked": [f"{s.scope}: {s.id}" for s in not_checked],
            "integrations": [
                {"name": r.name, "ok": r.ok, "steps": as_json(r.steps), "cleanup": r.cleanup}
                for r in results
            ],
        }, out)
    else:
        out.write(f"level-ilert verify, stack {stack.name} ({verify.mode})\n")
        for result in results:
            render(result.steps, {}, out)
            for line in result.cleanup:
                out.write(f"  clean-up: {line}\n")
        out.write(f"\n{verify_verdict(ok, not_checked)}\n")
    if interrupted:
        return EXIT_COULD_NOT_RUN
    return EXIT_OK if ok else EXIT_FAILED


def verify_verdict(ok: bool, not_checked: Sequence[Check]) -> str:
    """The last line: never "verified" alone when a link was not checked."""
    if not ok:
        return "NOT verified"
    if not not_checked:
        return "verified"
    return (f"verified as far as it could see; NOT checked: {len(not_checked)} link(s) (the "
            "lines marked -)")


if __name__ == "__main__":
    sys.exit(main())
