"""`make mutate`'s summary: the mutation score per scope and every mutant that survived.

Reads mutmut's results (``mutants/<path>.meta``, written by ``mutmut run``). A survivor
listed in tests/mutation_equivalents.md is shown with the reason it is equivalent (no test
can tell it from the code as written); any other survivor is shown with its diff, for a
test to kill. Exits 1 when the score of the scopes is under ``--min-score`` or a survivor is
not listed, so the target fails in CI the way a test would.

Score = (killed + timed out) / (mutants - skipped), as mutmut's own badge computes it.

    python -m tests.mutation_report --scope providers --scope components --min-score 90
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.md"
KILLED = {1, 3}  # pytest failed (3: internal error, which mutmut also counts as a kill)
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = 0
SKIPPED = 34
NO_TESTS = {5, 33}
_LISTED = re.compile(r"^- `([^`]+__mutmut_\d+)`: (.+)$")


def results(scope: str) -> dict[str, int | None]:
    """Every mutant of one source folder and its exit code (None: not run yet)."""
    found: dict[str, int | None] = {}
    for meta in sorted((ROOT / "mutants" / scope).rglob("*.py.meta")):
        found.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return found


def equivalents() -> dict[str, str]:
    """The mutants listed as equivalent, with their one-line reasons."""
    listed: dict[str, str] = {}
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        match = _LISTED.match(line)
        if match:
            listed[match[1]] = match[2]
    return listed


def score(codes: list[int | None]) -> tuple[float, int, int]:
    """(percent killed, killed, tested)."""
    killed = sum(1 for code in codes if code in KILLED or code in TIMEOUT)
    tested = sum(1 for code in codes if code != SKIPPED)
    return (100.0 * killed / tested if tested else 0.0), killed, tested


@functools.cache
def _functions(source_path: Path) -> dict[str, str]:
    """Every function of mutmut's copy of a module (originals and mutants), by name."""
    try:
        source = source_path.read_text(encoding="utf-8")
    except OSError:
        return {}
    return {
        node.name: ast.get_source_segment(source, node) or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def diff_of(mutant: str) -> str:
    """The lines a mutant changes, read from mutmut's copy of the module (no subprocess)."""
    module, _, function = mutant.rpartition(".")
    functions = _functions(ROOT / "mutants" / (module.replace(".", "/") + ".py"))
    original = functions.get(function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "")
    changed = functions.get(function, "")
    lines = [
        line for line in difflib.unified_diff(
            original.splitlines()[1:], changed.splitlines()[1:], lineterm="", n=0
        )
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    return "\n".join(f"      {line}" for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scope", action="append", required=True, help="a mutated folder")
    parser.add_argument("--min-score", type=float, default=90.0)
    args = parser.parse_args(argv)

    listed = equivalents()
    all_codes: list[int | None] = []
    survivors: list[str] = []
    print("Mutation score (killed / tested):")
    for scope in args.scope:
        found = results(scope)
        if not found:
            print(f"  {scope}: no results in mutants/; run `make mutate` first")
            return 1
        percent, killed, tested = score(list(found.values()))
        counts = Counter(found.values())
        print(
            f"  {scope:<12} {percent:5.1f} %  ({killed} of {tested}; survived "
            f"{counts[SURVIVED]}, no tests {sum(counts[c] for c in NO_TESTS)}, not run "
            f"{counts[None]})"
        )
        all_codes.extend(found.values())
        survivors.extend(
            name for name, code in found.items()
            if code == SURVIVED or code in NO_TESTS or code is None
        )
    percent, killed, tested = score(all_codes)
    print(f"  {'together':<12} {percent:5.1f} %  ({killed} of {tested})")

    unlisted = [name for name in survivors if name not in listed]
    print(f"\nSurviving mutants: {len(survivors)} ({len(survivors) - len(unlisted)} listed as "
          f"equivalent in {EQUIVALENTS.relative_to(ROOT)}, {len(unlisted)} not)")
    for name in survivors:
        if name in listed:
            print(f"  = {name}: {listed[name]}")
    for name in unlisted:
        print(f"  ! {name}: kill it with a test, or list it as equivalent\n{diff_of(name)}")
    stale = sorted(set(listed) - set(survivors))
    scoped = [name for name in stale if name.split(".")[0] in args.scope]
    if scoped:
        print(f"\nListed as equivalent but killed now (remove from the list): {', '.join(scoped)}")

    ok = percent >= args.min_score and not unlisted
    print(f"\n{'PASS' if ok else 'FAIL'}: score {percent:.1f} % (bar {args.min_score:g} %), "
          f"{len(unlisted)} survivor(s) neither killed nor listed.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
