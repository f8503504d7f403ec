"""Sandbox and real base URLs never cross (issue 27.5).

- A loopback base URL taken from the environment (``export ILERT_BASE_URL=http://127.0.0.1:8790``,
  once suggested by the sandbox's banner) is refused for a stack that is not a sandbox
  stack, and by the providers, which are not told the stack's name: a real stack whose
  ``baseUrl`` is left unset would otherwise send its token in clear text to whatever
  listens on that port. Written in the stack file, it is the user's choice and stands.
- A ``sandbox*`` stack refuses every base URL that is not loopback, the default included:
  its public credentials and passphrase must never reach the production APIs.

Each refusal comes at preview (the program's settings, the providers' check), naming the
key and the fix.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clients.endpoints import (
    ILERT,
    LEVEL,
    EndpointSettingError,
    is_sandbox_stack,
    problems,
    resolve,
)
from components.settings import SettingsError, load_settings
from sandbox.__main__ import _banner

LOOPBACK = "http://127.0.0.1:8790"
REAL = "https://api.ilert.com"
INTEGRATIONS = [{"name": "Level - A", "escalationPolicy": 1}]
ENV = {"ILERT_API_TOKEN": "tok", "LEVEL_API_KEY": "key"}


def unset(_key: str) -> object:
    """A stack file that sets nothing."""
    return None


def config(**values: str) -> dict[str, object]:
    return {"level-ilert:integrations": INTEGRATIONS, **values}


def text_of(values: dict[str, object]) -> Callable[[str], str | None]:
    """``pulumi.Config.get``: the plain text of a key, None when unset."""
    return lambda key: None if values.get(key) is None else str(values[key])


@pytest.mark.parametrize("stack", ["prod", "dev", "org/level-ilert/prod", "my-sandbox", None])
def test_a_loopback_url_from_the_environment_is_refused_for_a_real_stack(
    stack: str | None,
) -> None:
    env = {**ENV, "ILERT_BASE_URL": LOOPBACK}

    found = problems(ILERT, unset, env, stack=stack)
    with pytest.raises(EndpointSettingError, match="ILERT_BASE_URL") as caught:
        resolve(ILERT, unset, env, stack=stack)

    assert found == [str(caught.value)]
    assert "ILERT_BASE_URL (environment variable) is a loopback URL (127.0.0.1)" in found[0]
    assert "Unset ILERT_BASE_URL" in found[0]
    assert "pulumi config set ilert:baseUrl <url>" in found[0]


def test_a_real_stack_may_name_a_loopback_url_in_its_stack_file() -> None:
    endpoint = resolve(ILERT, {"ilert:baseUrl": LOOPBACK}.get, {**ENV}, stack="prod")

    assert endpoint.base_url == LOOPBACK


def test_a_real_stack_takes_a_real_url_from_the_environment() -> None:
    env = {**ENV, "ILERT_BASE_URL": "https://eu.ilert.example"}

    assert resolve(ILERT, unset, env, stack="prod").base_url == "https://eu.ilert.example"


@pytest.mark.parametrize("stack", ["sandbox", "sandbox-a", "org/level-ilert/sandbox-b"])
def test_a_sandbox_stack_takes_loopback_from_the_file_or_the_environment(stack: str) -> None:
    from_file = resolve(ILERT, {"ilert:baseUrl": LOOPBACK}.get, ENV, stack=stack)
    from_env = resolve(LEVEL, unset, {**ENV, "LEVEL_BASE_URL": "http://[::1]:8791"},
                       stack=stack)

    assert (from_file.base_url, from_env.base_url) == (LOOPBACK, "http://[::1]:8791")


@pytest.mark.parametrize(
    ("values", "env", "where"),
    [
        ({"ilert:baseUrl": REAL}, {}, "ilert:baseUrl (stack config) points at api.ilert.com"),
        ({}, {"ILERT_BASE_URL": REAL},
         "ILERT_BASE_URL (environment variable) points at api.ilert.com"),
        ({}, {}, "ilert:baseUrl (not set: the default) points at api.ilert.com"),
    ],
)
def test_a_sandbox_stack_refuses_any_url_that_is_not_loopback(
    values: dict[str, str], env: dict[str, str], where: str
) -> None:
    (found,) = problems(ILERT, values.get, {**ENV, **env}, stack="sandbox-a")

    assert where in found
    assert "Stack sandbox-a is a sandbox stack (named sandbox*)" in found
    assert "`pulumi config set ilert:baseUrl http://127.0.0.1:8790 --stack sandbox-a`" in found
    assert ("unset ILERT_BASE_URL" in found) is bool(env)


def test_the_programs_settings_refuse_it_at_preview_naming_the_key_and_the_fix() -> None:
    """What `make preview` runs first (``__main__.py`` passes ``pulumi.get_stack()``)."""
    real = config(**{"ilert:baseUrl": REAL, "level:baseUrl": "https://api.level.io"})
    crossed = config()  # a real stack, its base URLs left to the environment

    with pytest.raises(SettingsError, match="sandbox stack") as sandbox_error:
        load_settings(real.get, text_of(real), environ=ENV, stack="sandbox-x")
    with pytest.raises(SettingsError, match="loopback URL") as real_error:
        load_settings(crossed.get, lambda _key: None, stack="prod",
                      environ={**ENV, "ILERT_BASE_URL": LOOPBACK,
                               "LEVEL_BASE_URL": "http://localhost:8791"})

    assert "ilert:baseUrl" in str(sandbox_error.value) and "level:baseUrl" in str(
        sandbox_error.value)
    assert "ILERT_BASE_URL" in str(real_error.value) and "LEVEL_BASE_URL" in str(
        real_error.value)


def test_sandbox_stacks_are_those_the_makefile_runs_against_the_sandbox() -> None:
    assert is_sandbox_stack("sandbox") and is_sandbox_stack("sandbox-b")
    assert is_sandbox_stack("acme/level-ilert/sandbox2")
    assert not is_sandbox_stack("prod") and not is_sandbox_stack("my-sandbox")
    assert not is_sandbox_stack(None)


def test_the_sandbox_banner_no_longer_suggests_exporting_base_urls() -> None:
    class Running:
        ilert_url, level_url = LOOPBACK, "http://127.0.0.1:8791"

        class rate_limiter:
            @staticmethod
            def limit(_service: str) -> None:
                return None

    banner = _banner(Running(), None)  # type: ignore[arg-type]

    assert "export" not in banner and "ILERT_BASE_URL" not in banner
    assert "LEVEL_BASE_URL" not in banner
    assert "Pulumi.sandbox.yaml" in banner
