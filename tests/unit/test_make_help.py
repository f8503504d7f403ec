"""``make help``: every target's ``## name: text`` line, and its wrapped lines indented."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET_LINE = re.compile(r"[a-z][a-z0-9-]*( / [a-z][a-z0-9-]*)*: ")


MAKE = shutil.which("make")


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_help_indents_every_wrapped_line_and_names_only_real_targets() -> None:
    assert MAKE is not None
    done = subprocess.run([MAKE, "-s", "help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=30, check=True)
    lines = done.stdout.splitlines()
    makefile = (ROOT / "Makefile").read_text()
    documented = [line.removeprefix("## ") for line in makefile.splitlines()
                  if line.startswith("## ")]

    rule_targets = {
        name
        for head in re.findall(r"^([A-Za-z][\w .-]*?):(?!=)", makefile, re.M)
        for name in head.split()
    }

    assert len(lines) == len(documented)
    for shown, written in zip(lines, documented, strict=True):
        if TARGET_LINE.match(written):
            assert shown == written
            for target in written.split(": ", 1)[0].split(" / "):
                assert target in rule_targets, f"{target} is not a rule of the Makefile"
        else:
            assert shown == f"    {written}", "a wrapped line is indented"
    assert any(line.startswith("    ") for line in lines)
