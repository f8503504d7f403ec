"""The lock files: every package of the runtime and development sets pinned with its hashes,
in agreement with requirements*.txt, and what the venv that runs these tests holds.

``requirements.txt``/``requirements-dev.txt`` name what we chose; ``requirements.lock`` and
``requirements-dev.lock`` (``make lock``) pin everything they pull in, each with the sha256 of
every file PyPI has for it, and ``make venv`` installs them with ``pip --require-hashes``.
These tests need no network: they read the files. A requirement changed without ``make
lock``, a lock edited by hand (an entry without hashes, or that nothing needs), or a runtime
lock that the development lock contradicts each fail here with the command that fixes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
FIX = "run `make lock` (docs/development.md, Dependencies) and commit both lock files"
_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)"
                    r"(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")
_HASH = re.compile(r"^\s+--hash=sha256:(?P<hash>[0-9a-f]{64})\s*\\?$")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)\s*(?:#.*)?$")


@dataclass
class Locked:
    """One package of a lock file."""

    name: str
    version: str
    marker: str | None
    hashes: set[str] = field(default_factory=set)
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> tuple[list[str], dict[str, Locked]]:
    """The header comment lines and the entries (by canonical name) of a lock file."""
    header: list[str] = []
    entries: dict[str, Locked] = {}
    current: Locked | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = _ENTRY.match(line)
        if entry:
            current = Locked(entry["name"], entry["version"], entry["marker"])
            name = canonicalize_name(current.name)
            assert name not in entries, f"{path.name}: {name} is listed twice"
            entries[name] = current
            continue
        if current is None:
            header.append(line)
            continue
        found = _HASH.match(line)
        if found:
            current.hashes.add(found["hash"])
            continue
        comment = line.strip().removeprefix("#").strip()
        assert line.strip().startswith("#"), f"{path.name}: cannot read {line!r}"
        via = comment.removeprefix("via").strip()
        if via:
            current.via.append(via)
    return header, entries


def read_pins(path: Path) -> dict[str, str]:
    """The ``name==version`` lines of a requirements file, following ``-r`` includes."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("-r "):
            pins.update(read_pins(path.parent / text[3:].strip()))
            continue
        pin = _PIN.match(text)
        assert pin, f"{path.name}: {text!r} is not pinned as name==version"
        pins[canonicalize_name(pin["name"])] = pin["version"]
    return pins


LOCKS = {"requirements.lock": "requirements.txt", "requirements-dev.lock": "requirements-dev.txt"}


@pytest.mark.parametrize(("lock", "requirements"), LOCKS.items())
def test_each_requirement_is_in_its_lock_at_the_same_version(lock: str, requirements: str) -> None:
    _, entries = read_lock(ROOT / lock)

    for name, version in read_pins(ROOT / requirements).items():
        assert name in entries, f"{requirements} names {name}, which {lock} lacks: {FIX}"
        assert entries[name].version == version, (
            f"{requirements} pins {name}=={version}, {lock} has {entries[name].version}: {FIX}"
        )


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_has_hashes_and_is_needed(lock: str) -> None:
    header, entries = read_lock(ROOT / lock)

    assert any("make lock" in line for line in header), f"{lock} was not made by `make lock`"
    assert entries
    for name, entry in entries.items():
        assert entry.hashes, f"{lock}: {name} has no --hash: {FIX}"
        assert entry.via, f"{lock}: nothing says why {name} is there: {FIX}"
        for reason in entry.via:
            if reason.startswith(("-r ", "-c ")):
                continue  # a requirements file (or the runtime lock) names it
            assert canonicalize_name(reason) in entries, (
                f"{lock}: {name} is there for {reason}, which is not locked: {FIX}"
            )


def test_the_runtime_lock_is_part_of_the_development_lock() -> None:
    _, runtime = read_lock(ROOT / "requirements.lock")
    _, development = read_lock(ROOT / "requirements-dev.lock")

    for name, entry in runtime.items():
        assert name in development, f"requirements-dev.lock lacks runtime package {name}: {FIX}"
        other = development[name]
        assert (other.version, other.hashes) == (entry.version, entry.hashes), (
            f"{name}: the two locks disagree ({entry.version} / {other.version}): {FIX}"
        )


def test_the_makefile_installs_the_locks_with_hash_checking() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    assert "PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check " \
        "--require-hashes" in makefile
    assert "$(PIP_INSTALL) -r requirements-dev.lock" in makefile  # make venv, so make test
    assert "$(PIP_INSTALL) -r requirements.lock" in makefile  # make venv-runtime
    assert "$(VENV)/.installed: requirements.lock requirements-dev.lock" in makefile
    assert "-r requirements-dev.txt" not in makefile  # nothing installs around the lock


def test_the_venv_running_these_tests_holds_the_locked_versions() -> None:
    """What `make test` runs on was installed from the development lock (``make venv``)."""
    _, entries = read_lock(ROOT / "requirements-dev.lock")
    wrong = []
    for name, entry in entries.items():
        if entry.marker and not Marker(entry.marker).evaluate():
            continue  # another platform's or Python's package
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "nothing"
        if installed != entry.version:
            wrong.append(f"{name}: locked {entry.version}, installed {installed}")
    assert not wrong, "the venv is not the lock's (run `make venv`):\n" + "\n".join(wrong)
