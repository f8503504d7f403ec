"""``python -m sandbox``: run the fake ilert and Level APIs in the foreground.

Prints both base URLs and the credentials, then serves until SIGINT (Ctrl-C) or SIGTERM,
and exits 0. Refuses a non-loopback ``--host`` (exit 2).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from sandbox import ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY, Sandbox
from sandbox.server import is_loopback_host


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Local fake ilert + Level APIs (loopback only). Ctrl-C stops.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--ilert-port", type=int, default=8790, help="0 = any free port")
    parser.add_argument("--level-port", type=int, default=8791, help="0 = any free port")
    parser.add_argument(
        "--state", metavar="FILE", help="load the world from FILE and save it after each change"
    )
    parser.add_argument(
        "--delivery-retry-delay",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="pause between webhook delivery attempts (default 1.0)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log one line per request")
    return parser


def _banner(sb: Sandbox, state: str | None) -> str:
    return "\n".join(
        [
            "level-ilert sandbox is running (loopback only)",
            f"  ilert API:  {sb.ilert_url}   (paths under /api)",
            f"  Level API:  {sb.level_url}   (paths under /v2)",
            f"  ilert API token:      {ILERT_TOKEN}   (Authorization: Bearer {ILERT_TOKEN})",
            f"  Level API key (rw):   {LEVEL_API_KEY}   (Authorization: {LEVEL_API_KEY})",
            f"  Level API key (read): {LEVEL_READONLY_KEY}",
            f"  state: {state or 'in memory (lost on exit)'}",
            f"Hint: export ILERT_BASE_URL={sb.ilert_url} ILERT_API_TOKEN={ILERT_TOKEN} "
            f"LEVEL_BASE_URL={sb.level_url} LEVEL_API_KEY={LEVEL_API_KEY}; "
            f"raise a Level alert with POST {sb.level_url}/sandbox/alerts "
            "(see `python -c 'import sandbox; help(sandbox)'`). Ctrl-C stops.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGINT/SIGTERM; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not is_loopback_host(args.host):
        parser.error(
            f"--host must be a loopback address (127.0.0.1, ::1, localhost), not {args.host!r}"
        )
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()
    try:
        sb = Sandbox(
            host=args.host,
            ilert_port=args.ilert_port,
            level_port=args.level_port,
            state_file=args.state,
            delivery_retry_delay=args.delivery_retry_delay,
            log_requests=not args.quiet,
        ).start()
    except (OSError, ValueError) as exc:
        print(f"sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    print(_banner(sb, args.state), flush=True)
    print(f"(started in {time.monotonic() - started:.2f} s)", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        sb.stop()
    print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
