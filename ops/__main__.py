"""``python -m ops doctor|verify|discover --stack <name> [--json]``; the Makefile calls it.
``python -m ops fleet up|preview|drift|destroy [--stacks ...]``: every stack at once (make
fleet-up, fleet-preview, fleet-drift, fleet-destroy; see ``ops.fleet``).

Exit codes of doctor and verify: 0 every check passed, 1 a check failed, 2 the command could
not run (no such stack file, invalid settings, no confirmation for a real alert,
interrupted). Of fleet: 0 every stack ran and none drifted, 7 some stack drifted, 2 some
stack failed or the fleet could not run. Of discover (ops/discover.py): 0 written, 1 nothing
to write, 2 could not run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ops import discover, fleet
from ops.doctor import Apis, Doctor
from ops.ids import Outputs, stack_outputs
from ops.report import (
    EXIT_COULD_NOT_RUN,
    EXIT_FAILED,
    EXIT_OK,
    as_json,
    dump,
    exit_code,
    render,
)
from ops.stack import Stack, StackError, load_stack
from ops.verify import Verify

DEFAULT_TIMEOUT = 60.0


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
    verify.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds to wait for each change in ilert (default 60)")
    verify.add_argument("--poll", type=float, default=1.0, help="seconds between looks")
    verify.add_argument(
        "--send-delivery", action="store_true",
        help="post a Level-shaped delivery even on the sandbox (the real-account method)",
    )
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
    if args.command == "doctor":
        return _doctor(stack, found, apis, args, out)
    return _verify(stack, found, apis, args, out, err, verify_factory)


def _where(stack: Stack) -> str:
    ilert = stack.ilert.base_url if stack.ilert else "ilert: no token"
    level = stack.level.base_url if stack.level else "Level: no key"
    return f"ilert {ilert}, Level {level}, webhook management {stack.settings.webhook_management}"


def _doctor(
    stack: Stack, outputs: Outputs, apis: Apis, args: argparse.Namespace, out: TextIO
) -> int:
    checks = Doctor(stack, outputs, apis, probe_write=args.probe_write).run(args.integration)
    code = exit_code(checks)
    if args.json:
        dump({
            "command": "doctor", "stack": stack.name, "ok": code == EXIT_OK,
            "ids_from": outputs.origin, "checks": as_json(checks),
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
    failed = sum(c.status == "fail" for c in checks)
    out.write(f"\n{'all checks passed' if not failed else f'{failed} check(s) failed'}\n")
    return code


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
    if args.json:
        dump({
            "command": "verify", "stack": stack.name, "mode": verify.mode, "ok": ok,
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
        out.write(f"\n{'verified' if ok else 'NOT verified'}\n")
    if interrupted:
        return EXIT_COULD_NOT_RUN
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
