"""Scale and pacing figures: N integrations through Pulumi's provider server, as the engine
drives it, against a sandbox that enforces ilert's rate limit with time scaled down.

For each N it prints, per phase (up, refresh, destroy): requests per API, failed
operations, wall time, and wall time as a ratio of the rate-limit floor (the requests of
the busiest API divided by its allowed rate, scaled). A refresh needs only a few dozen
requests, so its scaled floor is far below the fixed cost of 2N read RPCs; it is run a
second time with real 60 s windows on both sides to show where it stands against the
real floor. It also prints the time to register the program's resources (the pickler
guard keeps it linear).

Run: ``make bench`` (or ``venv/bin/python -m bench.scale 10 200 1000``).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from providers.ilert_alert_source import IlertAlertSource
from providers.level_webhook import LevelWebhook
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from sandbox.ratelimit import RateLimit
from tools.engine_harness import ProviderServer, capture_registrations, dynamic_type

TIME_SCALE = 0.01  # ilert's 60 s window lasts 0.6 s
ENGINE_PARALLELISM = 4  # the SDK's provider server serves four RPCs at a time
RATES = {"ilert": 120, "level": 60}  # requests per (scaled) minute: the clients' defaults
SOURCE_TYPE = dynamic_type("ilert", "AlertSource")
WEBHOOK_TYPE = dynamic_type("level", "Webhook")
MINUTE = 60.0 * TIME_SCALE
SECRETS = ("ilert:apiToken", "level:apiKey")


def _blobs() -> tuple[dict[str, Any], dict[str, Any]]:
    def build() -> None:
        IlertAlertSource("x", name="x", escalation_policy="Default")
        LevelWebhook("x", url="https://replaced.invalid")

    source, webhook = capture_registrations(build)
    return source.plain_inputs, webhook.plain_inputs


def register_program(integrations: int) -> float:
    """Seconds to register ``integrations`` sources and webhooks under mocks."""

    def build() -> None:
        for index in range(integrations):
            source = IlertAlertSource(f"s{index}", name=f"Level {index}", escalation_policy=1)
            LevelWebhook(f"w{index}", url=source.integration_url)

    started = time.perf_counter()
    capture_registrations(build, timeout=600)
    return time.perf_counter() - started


def _phase(
    sandbox: Sandbox,
    work: list[Callable[[], object]],
    parallel: int = ENGINE_PARALLELISM,
    minute: float = MINUTE,
) -> dict[str, Any]:
    sandbox.requests.clear()
    failures = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        for future in [pool.submit(job) for job in work]:
            try:
                future.result()
            except Exception:
                failures += 1
    wall = time.perf_counter() - started
    counts: Counter[str] = Counter(request.service for request in sandbox.requests)
    limited = sum(1 for request in sandbox.requests if request.status == 429)
    floor = max(counts[api] / RATES[api] * minute for api in RATES)
    return {
        "ilert": counts["ilert"], "level": counts["level"], "429": limited,
        "failed": failures, "wall": wall, "floor": floor,
    }


def _job(call: Callable[..., object], args: tuple[Any, ...]) -> Callable[[], object]:
    return lambda: call(*args)


def run(integrations: int) -> dict[str, dict[str, Any]]:
    """up, refresh and destroy of ``integrations`` integrations; figures per phase."""
    source_inputs, webhook_inputs = _blobs()
    limits = {"ilert": RateLimit(120, 60), "level": RateLimit(60, 60)}
    with Sandbox(
        rate_limits=limits, time_scale=TIME_SCALE
    ) as sandbox, ProviderServer(env={"ILERT_API_TOKEN": "", "LEVEL_API_KEY": ""}) as server:
        config = {
            "ilert:apiToken": ILERT_TOKEN, "ilert:baseUrl": sandbox.ilert_url,
            "level:apiKey": LEVEL_API_KEY, "level:baseUrl": sandbox.level_url,
            "ilert:rateLimitWindowSeconds": str(MINUTE),
            "level:rateLimitWindowSeconds": str(MINUTE),
        }
        server.configure(config, secret_keys=SECRETS)
        state: dict[int, dict[str, Any]] = {}

        def up(index: int) -> None:
            urn = server.urn(SOURCE_TYPE, f"s{index}")
            inputs = {**source_inputs, "name": f"Level {index}", "escalation_policy": "Default"}
            checked = server.check(urn, {}, inputs).inputs
            source_id, source_out = server.create(urn, checked)
            hook_urn = server.urn(WEBHOOK_TYPE, f"w{index}")
            hook_in = server.check(
                hook_urn, {}, {**webhook_inputs, "url": source_out["integration_url"]}
            ).inputs
            hook_id, hook_out = server.create(hook_urn, hook_in)
            state[index] = {
                "source": (urn, source_id, source_out, checked),
                "webhook": (hook_urn, hook_id, hook_out, hook_in),
            }

        figures = {"up": _phase(sandbox, [_job(up, (i,)) for i in range(integrations)])}

        server.new_command()
        resources = [resource for item in state.values() for resource in item.values()]
        figures["refresh"] = _phase(sandbox, [_job(server.read, r) for r in resources])

        # The scaled floor of a refresh (a few dozen requests) is far below the fixed cost
        # of 2N read RPCs, so refresh once more with the real 60 s windows on both sides (a
        # new provider process: its pacer starts empty, as the sandbox's windows do).
        server.new_command()
        windows = ("ilert:rateLimitWindowSeconds", "level:rateLimitWindowSeconds")
        server.configure({**config, **dict.fromkeys(windows, "60")}, secret_keys=SECRETS)
        sandbox.rate_limiter.set("ilert", RateLimit(120, 60 / TIME_SCALE))
        sandbox.rate_limiter.set("level", RateLimit(60, 60 / TIME_SCALE))
        figures["refresh, real-time limits"] = _phase(
            sandbox, [_job(server.read, r) for r in resources], minute=60.0
        )
        sandbox.rate_limiter.set("ilert", limits["ilert"])
        sandbox.rate_limiter.set("level", limits["level"])

        server.new_command()
        server.configure(config, secret_keys=SECRETS)  # scaled windows again
        webhooks = [item["webhook"][:3] for item in state.values()]
        sources = [item["source"][:3] for item in state.values()]
        figures["destroy (webhooks)"] = _phase(sandbox, [_job(server.delete, r) for r in webhooks])
        figures["destroy (sources)"] = _phase(sandbox, [_job(server.delete, r) for r in sources])
        left = len(sandbox.ilert_alert_sources()) + len(sandbox.level_webhooks())
        figures["destroy (sources)"]["left"] = left
    return figures


def main(sizes: list[int]) -> None:
    print(f"time scale {TIME_SCALE}: a 60 s rate-limit window lasts {MINUTE:g} s; "
          f"ilert 120 and Level 60 requests per window per key; engine parallelism "
          f"{ENGINE_PARALLELISM}")
    print("\nprogram registration (2 dynamic resources per integration):")
    for integrations in (5, 50, 1000):
        seconds = register_program(integrations)
        per = seconds / (2 * integrations) * 1000
        print(f"  {2 * integrations:5d} resources: {seconds:6.2f} s, {per:.2f} ms per resource")
    print("\n| N | phase | ilert req | Level req | 429s | failed | wall s | floor s | wall/floor |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for integrations in sizes:
        for phase, f in run(integrations).items():
            ratio = f["wall"] / f["floor"] if f["floor"] else float("nan")
            print(
                f"| {integrations} | {phase} | {f['ilert']} | {f['level']} | {f['429']} | "
                f"{f['failed']} | {f['wall']:.2f} | {f['floor']:.2f} | {ratio:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10, 200, 1000])
