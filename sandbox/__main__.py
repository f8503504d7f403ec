"""``python -m sandbox``: run the fake ilert and Level APIs in the foreground.

Prints both base URLs and the credentials, then serves until SIGINT (Ctrl-C) or SIGTERM,
and exits 0. Refuses a non-loopback ``--host`` (exit 2).

Rate limits (off unless asked; see :mod:`sandbox.ratelimit`)::

    python -m sandbox --ilert-rate-limit 120/60                 # ilert's published limit
    python -m sandbox --ilert-rate-limit 120/60 --level-rate-limit 60/60 --time-scale 0.01

``--ilert-rate-limit REQUESTS/SECONDS`` and ``--level-rate-limit REQUESTS/SECONDS`` limit
each API key (sliding window; ilert answers 429 without ``Retry-After``, Level with one);
``--time-scale F`` makes windows last F times as long (0.01: a 60 s window lasts 0.6 s).
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
from sandbox.ratelimit import RateLimit
from sandbox.server import is_loopback_host


def _rate_limit(text: str) -> RateLimit:
    """argparse type for ``REQUESTS/SECONDS``."""
    try:
        return RateLimit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _time_scale(text: str) -> float:
    """argparse type for ``--time-scale``: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(
            f"expected a number above 0 and at most 1000 (0.01 = windows 100 times shorter), "
            f"not {text!r}"
        )
    return value


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
    parser.add_argument(
        "--ilert-rate-limit",
        type=_rate_limit,
        metavar="REQUESTS/SECONDS",
        help="limit each ilert API key, e.g. 120/60 (ilert's published limit); "
        "429 without Retry-After. Default: no limit",
    )
    parser.add_argument(
        "--level-rate-limit",
        type=_rate_limit,
        metavar="REQUESTS/SECONDS",
        help="limit each Level API key, e.g. 60/60; 429 with Retry-After. Default: no limit",
    )
    parser.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1.0,
        metavar="FACTOR",
        help="rate-limit windows last FACTOR times as long (0.01: 60 s become 0.6 s)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log one line per request")
    return parser


def _limits_line(sb: Sandbox) -> str:
    shown = []
    for service, name in (("ilert", "ilert"), ("level", "Level")):
        limit = sb.rate_limiter.limit(service)
        if limit is not None:
            real = sb.rate_limiter.window_real_seconds(limit)
            shown.append(f"{name} {limit.describe()} per API key (window {real:g} s real)")
    return "  rate limits: " + ("; ".join(shown) if shown else "none")


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
            _limits_line(sb),
            # No "export ILERT_BASE_URL=...": left exported, a sandbox URL would take a real
            # stack's token to whatever listens on this port. Stacks name their base URLs.
            "Hint: `make up` runs the sandbox stack (Pulumi.sandbox.yaml names these URLs; "
            "any stack named sandbox* must name them too); raise a Level alert with POST "
            f"{sb.level_url}/sandbox/alerts, JSON "
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
            rate_limits={"ilert": args.ilert_rate_limit, "level": args.level_rate_limit},
            time_scale=args.time_scale,
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
