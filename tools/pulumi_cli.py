"""Find or build the Pulumi CLI this project is tested with: ``python3 -m tools.pulumi_cli``.

Why: on machines that cannot download Pulumi's release binaries, the CLI and Pulumi's own
Python language host build from Pulumi's Go modules (../shared/reference/pulumi-dynamic.md
§6.4). One file holds the CLI version: ``tools/pulumi-build/cli/go.mod`` (the ``pkg/v3``
requirement). The build lands in a per-user cache directory keyed by that version, so a
fresh clone, another worktree and the next CI step on the same machine find it again.

Commands (stdout carries only the answer, progress goes to stderr):

- ``dir``: the directory whose ``pulumi`` the Makefile and tests run: a ``pulumi`` already on
  PATH at or above the pinned version, else the cache directory (built or not yet).
- ``ensure``: the same, building into the cache first when needed (a lock keeps two builds
  from racing; the result is moved into place only when complete). Without ``go``: one line
  saying how to install the CLI, exit 2.
- ``version``: the pinned CLI version. ``backend``: the backend URL of the current
  ``pulumi login`` (so that every command gets an explicit ``PULUMI_BACKEND_URL``).

Stdlib only: it runs with the system ``python3`` before the project's venv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "tools" / "pulumi-build"
CLI_MODULE = BUILD_DIR / "cli"
HOST_MODULE = BUILD_DIR / "python-host"
REQUIREMENTS = ROOT / "requirements.txt"
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
HOST_PACKAGE = "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
VERSION_FLAG = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
# Plugins the CLI runs for this project; it looks for them next to itself (or on PATH).
BINARIES = ("pulumi", "pulumi-language-python")
SCRIPTS = {  # file in sdk/v3's module -> name next to the binaries
    "python/cmd/pulumi-language-python-exec": "pulumi-language-python-exec",
    "python/dist/pulumi-resource-pulumi-python": "pulumi-resource-pulumi-python",
}
INSTALL_HINT = (
    "install it (https://www.pulumi.com/docs/iac/download-install/, e.g. "
    "curl -fsSL https://get.pulumi.com | sh -s -- --version {version}) or install Go "
    "(https://go.dev/dl/) so that `make pulumi` can build it, and run this again"
)
EXIT_CANNOT = 2
VERSION_TIMEOUT_SECONDS = 30
BUILD_TIMEOUT_SECONDS = 3600


class CliError(Exception):
    """The CLI can be neither found nor built; the message says what to do."""


def _version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(part) for part in match.groups())


def pinned_version(go_mod: Path = CLI_MODULE / "go.mod") -> str:
    """The CLI version this project pins (``3.274.1``), read from the wrapper's go.mod."""
    match = re.search(
        r"github\.com/pulumi/pulumi/pkg/v3 v(\d+\.\d+\.\d+)\b", go_mod.read_text("utf-8")
    )
    if not match:
        raise CliError(f"{go_mod} does not require github.com/pulumi/pulumi/pkg/v3 vX.Y.Z")
    return match.group(1)


def sdk_pin(requirements: Path = REQUIREMENTS) -> str:
    """The Python SDK version requirements.txt pins (``pulumi==X``)."""
    match = re.search(r"^pulumi==(\S+)", requirements.read_text("utf-8"), re.MULTILINE)
    if not match:
        raise CliError(f"{requirements} pins no pulumi==X.Y.Z")
    return match.group(1)


def cache_root() -> Path:
    """``$LEVEL_ILERT_CACHE``, else ``$XDG_CACHE_HOME/level-ilert``, else ~/.cache/level-ilert."""
    explicit = os.environ.get("LEVEL_ILERT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "level-ilert"


def cache_dir(version: str) -> Path:
    """Where the build of one CLI version lives."""
    return cache_root() / "pulumi" / f"v{version}"


def cli_version(pulumi: Path) -> str | None:
    """What ``pulumi version`` prints (``3.274.1``), or None when it does not run."""
    try:
        done = subprocess.run(  # noqa: S603 (a path we found ourselves)
            [str(pulumi), "version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_SECONDS,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        return ".".join(map(str, _version_tuple(done.stdout))) if done.returncode == 0 else None
    except ValueError:
        return None


def is_complete(directory: Path, version: str) -> bool:
    """Whether ``directory`` holds a finished build of ``version`` (binaries and scripts)."""
    names = (*BINARIES, *SCRIPTS.values())
    if not all(os.access(directory / name, os.X_OK) for name in names):
        return False
    return cli_version(directory / "pulumi") == version


def on_path(minimum: str, path: str | None = None) -> Path | None:
    """The directory of a ``pulumi`` on PATH at or above ``minimum``, if there is one."""
    found = shutil.which("pulumi", path=path)
    if found is None:
        return None
    version = cli_version(Path(found))
    if version is None or _version_tuple(version) < _version_tuple(minimum):
        return None
    return Path(found).resolve().parent


def pulumi_dir() -> Path:
    """The directory whose ``pulumi`` to run: one on PATH at or above the pin, else the cache."""
    version = pinned_version()
    built = cache_dir(version)
    if is_complete(built, version):
        return built
    return on_path(version) or built


def _log(message: str) -> None:
    print(f"make pulumi: {message}", file=sys.stderr, flush=True)


def _go(args: Sequence[str], module: Path, env: dict[str, str]) -> str:
    """Run one go command in a wrapper module; its output on failure, else stdout."""
    go = shutil.which("go") or "go"
    done = subprocess.run(  # noqa: S603 (go, with our own arguments)
        [go, *args],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise CliError(f"`go {' '.join(args)}` in {module} failed:\n{done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    """One build at a time per cache (parallel make runs, worktrees); released on exit/kill."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(version: str, target: Path) -> None:
    """Build the CLI, the Python language host and the plugin scripts into ``target``."""
    env = {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=readonly -trimpath -buildvcs=false",
        "GOTOOLCHAIN": "local",
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f".v{version}-", dir=target.parent) as tmp:
        staging = Path(tmp)
        staging.chmod(0o755)  # like any installed program: others may run it
        steps = (
            ("building the Pulumi CLI (the first time 3 to 6 min on 2 cores; then seconds)",
             CLI_MODULE, CLI_PACKAGE, "pulumi", f"-s -w -X {VERSION_FLAG}=v{version}"),
            ("building Pulumi's Python language host (the first time up to 75 s)",
             HOST_MODULE, HOST_PACKAGE, "pulumi-language-python", "-s -w"),
        )
        for number, (what, module, package, name, ldflags) in enumerate(steps, 1):
            step_started = time.monotonic()
            _log(f"[{number}/3] {what} ...")
            _go(["build", "-ldflags", ldflags, "-o", str(staging / name), package], module, env)
            _log(f"[{number}/3] done in {time.monotonic() - step_started:.0f} s")
        _log("[3/3] copying the Python plugin scripts from the SDK module ...")
        info = json.loads(_go(["mod", "download", "-json", f"{SDK_MODULE}@v{version}"],
                              CLI_MODULE, env))
        for source, name in SCRIPTS.items():
            shutil.copyfile(Path(info["Dir"]) / source, staging / name)
            (staging / name).chmod(0o755)
        if cli_version(staging / "pulumi") != version:
            raise CliError(f"the CLI built in {staging} does not report v{version}")
        shutil.rmtree(target, ignore_errors=True)  # an incomplete or older build of it
        if target.exists():
            raise CliError(f"{target} holds an incomplete build that cannot be removed: remove "
                           f"it by hand and run make pulumi again")
        staging.rename(target)
        staging.mkdir()  # for TemporaryDirectory's own clean-up
    _log(f"Pulumi CLI v{version} ready in {time.monotonic() - started:.0f} s: {target}")


def ensure() -> Path:
    """The directory of a usable CLI, building it into the cache when needed."""
    version = pinned_version()
    target = cache_dir(version)
    if is_complete(target, version):
        return target
    found = on_path(version)
    if found is not None:
        return found
    if shutil.which("go") is None:
        raise CliError(
            f"The Pulumi CLI v{version} (or newer) is not on PATH and Go is not installed to "
            f"build it: {INSTALL_HINT.format(version=version)}."
        )
    with _build_lock(target.parent):
        if not is_complete(target, version):  # another run may have built it meanwhile
            # Under the lock no other build runs: a staging folder left here is a killed
            # build's (its clean-up never ran), so it goes.
            for stale in target.parent.glob(f".v{version}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            build(version, target)
    return target


def current_backend(home: Path | None = None) -> str | None:
    """The backend URL of the current ``pulumi login`` (``$PULUMI_HOME/credentials.json``)."""
    home = home or Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")
    try:
        credentials = json.loads((home / "credentials.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    current = credentials.get("current") if isinstance(credentials, dict) else None
    return current if isinstance(current, str) and current else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; see the module docstring for the commands."""
    parser = argparse.ArgumentParser(prog="python3 -m tools.pulumi_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("dir", "ensure", "version", "backend"))
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print(pinned_version())
        elif args.command == "dir":
            print(pulumi_dir())
        elif args.command == "ensure":
            print(ensure())
        else:
            backend = current_backend()
            if backend is None:
                print(
                    "No backend: you are not logged in with `pulumi login`. Log in, or pass "
                    "BACKEND_URL=<url> (file://..., s3://..., https://api.pulumi.com).",
                    file=sys.stderr,
                )
                return EXIT_CANNOT
            print(backend)
    except CliError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CANNOT
    return 0


if __name__ == "__main__":
    sys.exit(main())
