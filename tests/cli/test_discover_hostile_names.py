"""A hostile admin's names, through ``make discover`` and ``make preview`` (issue 27.1).

Any admin of the ilert or the Level account can name a team, a policy, a source or a group.
Written raw into the stack file, a name with a line break added config keys
(``\\n  ilert:baseUrl: https://collector.example``) and the next ``make preview`` sent the
ilert token there. tests/hostile.py seeds such names (line breaks before ``ilert:baseUrl`` and
``level:baseUrl`` keys pointing at ``127.0.0.1:8799``, ``#``, ``:``, anchors and aliases,
YAML 1.1 booleans, terminal escapes, very long names, four non-Latin scripts).

The story runs as a user would, through the Makefile, in a network namespace of its own
(``unshare --net``): there ``make discover STACK=sandbox-hostile`` starts the sandbox on its
fixed ports 8790/8791 (free in the namespace, whatever runs outside), and only loopback
exists. Two listeners see what must not happen: one on the injected ``127.0.0.1:8799``, and
one as ``HTTP(S)_PROXY`` of ``make preview`` for every host but loopback (``NO_PROXY``: the
engine's own gRPC is on loopback), so a request to any other host, such as a
``collector.example``, would reach it. Proven:
the written file holds exactly the keys discover meant, its base URLs are the sandbox's,
every non-Latin name is intact, and ``make preview`` of it talks to the sandbox and to
nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sandbox import Sandbox
from tests.cli.harness import REPO, cli_dir
from tests.hostile import INJECTED_PORT, NON_LATIN, TAKEN, seed

STACK = "sandbox-hostile"
PROXY_PORT = 8798
#: What the Makefile needs to run discover, the sandbox and the program.
COPIED = (
    "Makefile", "Pulumi.yaml", "__main__.py", "requirements.txt", "requirements-dev.txt",
    "requirements.lock", "requirements-dev.lock", "providers", "components", "clients",
    "icl", "ops", "sandbox", "tools",
)
RECORDER = """
import socket, sys, threading
log = open(sys.argv[1], "a", buffering=1)
def serve(port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    while True:
        connection, _ = listener.accept()
        connection.settimeout(2)
        try:
            first = connection.recv(300)
        except OSError:
            first = b""
        log.write(f"{port} {first[:200]!r}\\n")
        connection.close()
for port in map(int, sys.argv[2:]):
    threading.Thread(target=serve, args=(port,), daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
"""
SCRIPT = """
set -u
ip link set lo up
python3 recorder.py recorded.log {injected} {proxy} > recorder.out 2>&1 &
recorder=$!
for _ in $(seq 50); do grep -q listening recorder.out 2>/dev/null && break; sleep 0.1; done
ILERT_BASE_URL=http://127.0.0.1:8790 LEVEL_BASE_URL=http://127.0.0.1:8791 \\
  make --no-print-directory discover STACK={stack} > discover.out 2>&1
echo "discover $?" > codes
cp Pulumi.{stack}.yaml written.yaml 2>/dev/null
HTTP_PROXY=http://127.0.0.1:{proxy} HTTPS_PROXY=http://127.0.0.1:{proxy} \\
  ALL_PROXY=http://127.0.0.1:{proxy} http_proxy=http://127.0.0.1:{proxy} \\
  https_proxy=http://127.0.0.1:{proxy} NO_PROXY=127.0.0.1,localhost,::1 \\
  no_proxy=127.0.0.1,localhost,::1 \\
  make --no-print-directory preview STACK={stack} > preview.out 2>&1
echo "preview $?" >> codes
make --no-print-directory sandbox-stop > /dev/null 2>&1
kill $recorder
"""


def _unshare_works() -> bool:
    tool = shutil.which("unshare")
    if tool is None:
        return False
    done = subprocess.run([tool, "--net", "true"], capture_output=True, check=False)
    return done.returncode == 0


pytestmark = pytest.mark.skipif(
    not _unshare_works(), reason="needs `unshare --net` (root, or user namespaces)"
)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "project"
    root.mkdir()
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)  # mtimes kept: the venv stays up to date
    (root / "venv").symlink_to(REPO / "venv")
    world = root / ".sandbox" / "world.json"
    world.parent.mkdir()
    sandbox = Sandbox(state_file=world)  # not started: the world make's sandbox will serve
    sandbox.ilert.base_url = "http://127.0.0.1:8790"
    seed(sandbox)
    (root / "recorder.py").write_text(RECORDER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULUMI", "MAKE", "ILERT_", "LEVEL_")) and "proxy" not in
           k.lower()}
    env.update(PULUMI_HOME=str(root / ".pulumi-home"), PULUMI_DIR=str(cli_dir()),
               PATH=f"{cli_dir()}:{os.environ['PATH']}")
    script = SCRIPT.format(stack=STACK, injected=INJECTED_PORT, proxy=PROXY_PORT)
    subprocess.run(["unshare", "--net", "bash", "-c", script], cwd=root, env=env,  # noqa: S607
                   timeout=540, check=False)
    return root


def _codes(root: Path) -> dict[str, int]:
    lines = (root / "codes").read_text().split("\n")
    return {name: int(code) for name, code in (line.split() for line in lines if line)}


def _out(root: Path, name: str) -> str:
    return (root / f"{name}.out").read_text(encoding="utf-8", errors="replace")


def test_make_discover_writes_exactly_the_keys_it_meant(story: Path) -> None:
    assert _codes(story)["discover"] == 0, _out(story, "discover")
    text = (story / "written.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)

    assert set(document) == {"config"}
    config = document["config"]
    assert set(config) == {"ilert:baseUrl", "level:baseUrl", "level:webhookManagement",
                           "level-ilert:integrations"}
    assert (config["ilert:baseUrl"], config["level:baseUrl"]) == (
        "http://127.0.0.1:8790", "http://127.0.0.1:8791")
    entries = config["level-ilert:integrations"]
    assert [entry["name"] for entry in entries] == [case.source for case in TAKEN]
    for name in NON_LATIN:
        for word in name.split():
            assert word in text
    lines_with_port = [line for line in text.splitlines() if str(INJECTED_PORT) in line]
    assert lines_with_port and all(
        line.index("#") < line.index(str(INJECTED_PORT)) for line in lines_with_port)


def test_make_preview_of_it_talks_to_the_sandbox_and_to_nothing_else(story: Path) -> None:
    preview = _out(story, "preview")
    recorded = (story / "recorded.log").read_text() if (story / "recorded.log").exists() else ""
    sandbox_log = (story / ".sandbox" / "sandbox.log").read_text(errors="replace")

    assert _codes(story)["preview"] == 0, preview
    assert recorded == "", recorded  # neither the injected host nor any host through a proxy
    assert "ilert GET /api/escalation-policies" in sandbox_log  # the preflight ran, here
    assert "level GET /v2/groups" in sandbox_log
    # The stack, and per integration its component, alert source and webhook (adopted by up).
    assert f"+ {1 + 3 * len(TAKEN)} to create" in preview, preview
