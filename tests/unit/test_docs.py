"""The README and docs/ as a reader uses them: they paste, they link, they quote truly.

- Every ```bash / ```sh block passes ``bash -n`` and each command in it starts with a word
  that is a command (a line wrapped inside a block would run its tail as a command: bash -n
  cannot see that, the list of commands can).
- Every relative link and ``#anchor`` resolves inside the repository; every absolute link
  is https to a public host; nothing points at ``../shared`` or a path of this machine.
- The README is at most 250 lines.
- Every ```message block quotes what the code prints (the convention, also in
  docs/development.md): each line is one message, or one line of a message; ``...`` stands
  for text left out and ``<word>`` for a value that varies (a name, an id, a URL). A block
  passes when its pieces appear, in order, in one line of tests/cli/failure_table.golden
  (what the real CLI printed, rewritten by tests/cli/test_failure_table.py), or else when
  each line's pieces are in the strings of the project's code. And every row of the failure
  table is quoted on docs/troubleshooting.md.

Fast, no CLI: the code is read with ``ast``, never imported.
"""

from __future__ import annotations

import ast
import ipaddress
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
GOLDEN = ROOT / "tests" / "cli" / "failure_table.golden"
MAX_README_LINES = 250
# Where the code a user runs lives (what it prints is quotable); tests, sandbox and bench
# print nothing a user meets in production.
CODE = ["__main__.py", "providers", "clients", "icl", "components", "ops", "tools"]
SHELLS = {"bash", "sh", "shell"}
# The first word of every command in a shell block. A word not here is most likely the tail
# of a line wrapped inside the block; add a real command when a page needs it.
COMMANDS = {
    "make", "pulumi", "venv/bin/python", "python3", "export", "unset", "cd", "cp", "mv",
    "rm", "mkdir", "cat", "echo", "curl", "git", "jq", "ip", "sleep", "kill", "ls", "go",
}
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)[^\n]*$")
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
BARE_URL = re.compile(r"\b(?:https?|file)://[^\s)>\]`'\"]+")
PLACEHOLDER = re.compile(r"\.\.\.|…|<[^<>\s][^<>]*>")
MACHINE_PATHS = ("../shared", "/work/", "/root/", "/home/")
MIN_PIECE = 10  # a quoted line must hold at least this much literal text to be checked


@dataclass(frozen=True)
class Block:
    """A fenced code block: its page, the line of its opening fence, language and text."""

    page: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, lang, start = opened[2], opened[3].lower(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence[:3]):
            body.append(lines[i][len(opened[1]):] if lines[i].startswith(opened[1]) else lines[i])
            i += 1
        found.append(Block(page, start + 1, lang, "\n".join(body)))
        i += 1
    return found


def outside_code(page: Path) -> list[str]:
    """The page's lines, each line of a fenced code block left empty."""
    kept: list[str] = []
    in_block = ""
    for line in page.read_text(encoding="utf-8").splitlines():
        opened = FENCE.match(line)
        if opened and not in_block:
            in_block = opened[2][:3]
            kept.append("")
        elif in_block:
            if line.strip().startswith(in_block):
                in_block = ""
            kept.append("")
        else:
            kept.append(line)
    return kept


def prose(page: Path) -> str:
    """The page without its code blocks and inline code (what is neither a link nor a URL)."""
    return "\n".join(re.sub(r"`[^`]*`", "``", line) for line in outside_code(page))


# -- the README's length ------------------------------------------------------------------


def test_the_readme_is_at_most_250_lines() -> None:
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count <= MAX_README_LINES, f"README.md has {count} lines; move a topic to docs/"


def test_there_is_a_docs_folder_and_the_readme_links_every_page() -> None:
    assert DOCS, "docs/ has no page"
    readme = README.read_text(encoding="utf-8")
    missing = [page.name for page in DOCS if f"(docs/{page.name})" not in readme]
    assert missing == [], f"README.md's index of docs/ misses {missing}"


# -- shell blocks paste as written ----------------------------------------------------------


SHELL_BLOCKS = [block for page in PAGES for block in blocks(page) if block.lang in SHELLS]


BASH = shutil.which("bash")


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[b.where for b in SHELL_BLOCKS])
def test_each_shell_block_parses_with_bash_n(block: Block) -> None:
    assert BASH is not None
    done = subprocess.run([BASH, "-n"], input=block.text, capture_output=True, text=True,
                          timeout=10, check=False)
    assert done.returncode == 0, f"{block.where}: bash -n says\n{done.stderr}\n{block.text}"


def command_words(text: str) -> Iterator[tuple[str, str]]:
    """(first word, logical line) of each simple command in a shell block."""
    logical = re.sub(r"\\\n", " ", text)
    for line in logical.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        at_start, after_redirect = True, False
        for token in lexer:
            if after_redirect:
                after_redirect = False
                continue
            if set(token) <= set("<>"):
                after_redirect = True
                continue
            if set(token) <= set(";&|()"):
                at_start = True
                continue
            if at_start:
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token, re.DOTALL):
                    continue  # an assignment before the command
                if token in {"then", "do", "else", "!", "time"}:
                    continue
                yield token, line
                at_start = False


def test_each_command_in_a_shell_block_starts_with_a_command() -> None:
    unknown = [
        f"{block.where}: {word!r} in: {line.strip()}"
        for block in SHELL_BLOCKS
        for word, line in command_words(block.text)
        if word not in COMMANDS and word not in {"if", "for", "while", "fi", "done"}
    ]
    assert unknown == [], "a wrapped line, or a command to add to COMMANDS:\n" + "\n".join(
        unknown
    )


def test_the_command_check_sees_a_wrapped_line() -> None:
    wrapped = "pulumi stack init dev      # DIY backends: export\nPULUMI_CONFIG_PASSPHRASE\n"
    assert [word for word, _ in command_words(wrapped)] == [
        "pulumi", "PULUMI_CONFIG_PASSPHRASE"
    ]
    assert [word for word, _ in command_words("A=1 make up && venv/bin/python -m ops x > f")
            ] == ["make", "venv/bin/python"]


# -- links stay in the repository or go to public https sites -------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in outside_code(page):
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading[1])
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    found.update(re.findall(r'<a (?:name|id)="([^"]+)"', page.read_text(encoding="utf-8")))
    return found


def is_public_https(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or "." not in host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return False
    private = (".local", ".localhost", ".internal", ".lan", ".test", ".invalid", ".example")
    return not host.endswith(private) and host != "localhost"


def link_problems(page: Path) -> Iterator[str]:
    text = prose(page)
    name = page.relative_to(ROOT)
    for target in LINK.findall(text):
        if "://" in target or target.startswith(("mailto:", "//")):
            if not is_public_https(target):
                yield f"{name}: {target} is not https to a public site"
            continue
        path_part, _, anchor = target.partition("#")
        if path_part.startswith("/"):
            yield f"{name}: {target} is an absolute path; link relative to the page"
            continue
        goal = (page.parent / path_part).resolve() if path_part else page
        if not goal.is_relative_to(ROOT):
            yield f"{name}: {target} leaves the repository"
            continue
        if not goal.exists():
            yield f"{name}: {target} does not exist"
            continue
        if anchor and goal.suffix == ".md" and anchor not in anchors(goal):
            yield f"{name}: {target}: no heading with the anchor #{anchor} in {goal.name}"
    for url in BARE_URL.findall(re.sub(LINK, "", text)):
        if not is_public_https(url.rstrip(".,;:")):
            yield f"{name}: {url} is not https to a public site"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_resolve_in_the_repository_or_go_to_public_https_sites(page: Path) -> None:
    assert list(link_problems(page)) == []


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_page_names_a_path_outside_the_checkout(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = [path for path in MACHINE_PATHS if path in text]
    assert found == [], f"{page.name} names {found}: describe it or link a public source"


def test_the_link_check_refuses_what_a_checkout_lacks(tmp_path: Path) -> None:
    assert not is_public_https("http://docs.level.io/x")
    assert not is_public_https("https://127.0.0.1:8790/api")
    assert not is_public_https("https://localhost/x")
    assert is_public_https("https://docs.ilert.com/rest-api/icl-ilert-condition-language")
    assert slug("What `pulumi preview` checks") == "what-pulumi-preview-checks"
    assert slug("Faults, rate limits and scale") == "faults-rate-limits-and-scale"


# -- quoted messages are what the code prints ------------------------------------------------


def literal_pieces(node: ast.AST) -> Iterator[str]:
    """The literal text of a string in the code, split where a value is filled in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield from re.split(r"\{[^{}]*\}|%[sdr]", node.value)
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                yield part.value


def code_strings() -> list[str]:
    pieces: list[str] = []
    for entry in CODE:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            tree = ast.parse(file.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                pieces.extend(piece for piece in literal_pieces(node) if piece.strip())
    # the Makefile's own messages (echo), split where make fills in a variable
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        pieces.extend(re.split(r"\$\([^)]*\)|\$\$\w+", line))
    return pieces


def golden_lines() -> dict[str, str]:
    """``row | command`` -> the first error line the real CLI printed."""
    lines: dict[str, str] = {}
    for text in GOLDEN.read_text(encoding="utf-8").splitlines():
        if text and not text.startswith("#"):
            row, command, line = text.split(" | ", 2)
            lines[f"{row} | {command}"] = line
    return lines


def pieces(line: str) -> list[str]:
    """A quoted line's literal pieces: split at ``...`` and ``<placeholders>``."""
    return [piece.strip() for piece in PLACEHOLDER.split(line) if piece.strip()]


def in_order(needles: list[str], haystack: str) -> bool:
    at = 0
    for needle in needles:
        found = haystack.find(needle, at)
        if found < 0:
            return False
        at = found + len(needle)
    return True


MESSAGE_BLOCKS = [block for page in PAGES for block in blocks(page) if block.lang == "message"]


@pytest.fixture(scope="module")
def code() -> list[str]:
    return code_strings()


def unquotable(block: Block, code: list[str], golden: dict[str, str]) -> list[str]:
    """Why a message block is not what the code prints (empty: it is)."""
    lines = [line.strip() for line in block.text.splitlines() if line.strip()]
    every = [piece for line in lines for piece in pieces(line)]
    if any(in_order(every, printed) for printed in golden.values()):
        return []
    problems = []
    for line in lines:
        parts = [re.sub(r"^(error: |- )+", "", piece) for piece in pieces(line)]
        if max((len(part) for part in parts), default=0) < MIN_PIECE:
            problems.append(f"too little literal text to check: {line!r}")
            continue
        missing = [part for part in parts if not any(part in text for text in code)]
        if missing:
            problems.append(f"{line!r}: not in the code's strings: {missing}")
    return problems


@pytest.mark.parametrize("block", MESSAGE_BLOCKS, ids=[b.where for b in MESSAGE_BLOCKS])
def test_each_quoted_message_is_one_the_code_prints(block: Block, code: list[str]) -> None:
    problems = unquotable(block, code, golden_lines())
    assert problems == [], (
        f"{block.where}: neither in {GOLDEN.relative_to(ROOT)} nor in the code:\n"
        + "\n".join(problems)
    )


def test_every_row_of_the_failure_table_is_quoted_on_the_troubleshooting_page() -> None:
    quoted = [
        [piece for line in block.text.splitlines() for piece in pieces(line)]
        for block in blocks(ROOT / "docs" / "troubleshooting.md") if block.lang == "message"
    ]
    missing = [
        row for row, printed in golden_lines().items()
        if printed.startswith("error: ") and "Traceback" not in printed  # a user's failure
        and not any(in_order(parts, printed) for parts in quoted)
    ]
    assert missing == [], f"docs/troubleshooting.md quotes no message of {missing}"


def test_the_message_check_refuses_a_changed_word(code: list[str]) -> None:
    golden = golden_lines()
    page = ROOT / "docs" / "x.md"
    good = Block(page, 1, "message",
                 "ilert has <n> alert sources named ... adopting one would be a guess.")
    changed = Block(page, 1, "message",
                    "ilert has <n> alert sources named ... adopting one would be a risk.")
    assert unquotable(good, code, golden) == []
    assert unquotable(changed, code, golden) != []
    assert unquotable(Block(page, 1, "message", "- ok ..."), code, golden) != []
