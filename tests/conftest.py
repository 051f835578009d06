"""Fixtures of the conformance suite (tests/conformance).

* nats_server: a fresh nats-server per test (loopback, free port, temporary
  JetStream store), killed at teardown; .url, .port, .restart().
* server_factory: start more servers (server_factory.start(extra_args,
  port=...)); all are stopped at teardown.
* lang: parametrized over the languages whose driver exists (test ids like
  test_pubsub_basic[c]); lang_pair: ordered pairs of distinct languages
  (ids like [c->python]), or c->c while C is the only language.
* drivers: a DriverPool; drivers.start(lang) spawns a driver process, and
  every driver is quit at teardown (a driver that does not exit cleanly
  fails the test). driver: one driver for `lang`.
* spares (session): a plain server and one driver per language, started
  while the previous test ends; nats_server / server_factory.start() and
  drivers.start(lang) take them, so a test does not wait for processes to
  start. A spare still serves one test: a new process, an empty store.
* conn: a connection of `driver` to `nats_server`.
* server_version: the version of the nats-server the tests start
  (JW_NATS_SERVER, else Debian's 2.9.10) as a tuple, (2, 15, 3).

Server versions: the suite runs against the server JW_NATS_SERVER names
(`make test` runs it against 2.15.3 and against 2.9.10, the oldest
supported). A test of a feature of newer servers is marked
`@pytest.mark.min_server("2.10.0")`; one of the NOT_SUPPORTED path an older
server takes, `@pytest.mark.below_server("2.10.0")`. Outside its range a
test is skipped with its name and both versions in the reason (`-rs`
lists them), never passed. Where only an expectation differs, a test reads
the `server_version` fixture and asserts each server's answer.

A test that does not use the server JW_NATS_SERVER names (a lint, a type
check, a docs check, a codec, a scripted fake server, servers of fixed
versions) is marked `@pytest.mark.server_independent`: it runs against
the current server (.tools/bin/nats-server) and is deselected, with a
note in the summary, when JW_NATS_SERVER names a server of another
version, so `make test` runs it once. Unset JW_NATS_SERVER runs it too.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import (DriverPool, DriverSpares, ServerFactory, ServerSpares,
                     available_languages, language_pairs,
                     nats_server_version, parse_version)


def _marker_version(marker) -> tuple[str, str]:
    """The version of a min_server / below_server marker, and its optional
    reason= (why the behaviour depends on the server)."""
    if len(marker.args) != 1 or set(marker.kwargs) - {"reason"}:
        raise pytest.UsageError(
            f"@pytest.mark.{marker.name} takes one version, like \"2.10.0\", "
            "and an optional reason=")
    why = marker.kwargs.get("reason")
    return marker.args[0], f" ({why})" if why else ""


# The current release, as the Makefile's NATS_SERVER_CURRENT names it
# (scripts/servers.sh builds it).
CURRENT_SERVER = (Path(__file__).resolve().parents[1] / ".tools" / "bin"
                  / "nats-server")
# The note on deselected server_independent tests, for the summary.
_NOTE = pytest.StashKey[str]()


def _elsewhere() -> str | None:
    """Why this run leaves the server_independent tests out, or None: they
    run once, against the current server, and are left out when
    JW_NATS_SERVER names a server of another version (`make test`'s pass
    against 2.9.10). Unset, or without .tools/bin/nats-server, all run."""
    if not os.environ.get("JW_NATS_SERVER") or not CURRENT_SERVER.exists():
        return None
    running = nats_server_version()
    current = nats_server_version(str(CURRENT_SERVER))
    if running == current:
        return None
    return (f"they run against the current server, nats-server {current} "
            f"({CURRENT_SERVER}), and JW_NATS_SERVER names {running}")


def pytest_collection_modifyitems(config, items):
    """Deselect the server_independent tests when JW_NATS_SERVER is not the
    current server (a note in the summary says so); skip the tests outside
    the running server's range (min_server, below_server), each skip naming
    the test and both versions."""
    independent = [item for item in items
                   if item.get_closest_marker("server_independent")]
    why = _elsewhere() if independent else None
    if why:
        items[:] = [item for item in items
                    if not item.get_closest_marker("server_independent")]
        config.hook.pytest_deselected(items=independent)
        config.stash[_NOTE] = (f"{len(independent)} server_independent "
                               f"tests deselected: {why}")
    marked = [item for item in items
              if item.get_closest_marker("min_server")
              or item.get_closest_marker("below_server")]
    if not marked:
        return
    running = nats_server_version()
    have = parse_version(running)
    for item in marked:
        for marker in item.iter_markers("min_server"):
            need, why = _marker_version(marker)
            if have < parse_version(need):
                item.add_marker(pytest.mark.skip(
                    reason=f"{item.nodeid}: needs nats-server >= {need}, "
                           f"running {running}{why}"))
        for marker in item.iter_markers("below_server"):
            below, why = _marker_version(marker)
            if have >= parse_version(below):
                item.add_marker(pytest.mark.skip(
                    reason=f"{item.nodeid}: runs on servers older than "
                           f"{below}, running {running}{why}"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    note = config.stash.get(_NOTE, None)
    if note:
        terminalreporter.write_line(note)


def pytest_report_header(config):
    from harness import nats_server_binary
    try:
        return (f"nats-server: {nats_server_binary()} "
                f"({nats_server_version()})")
    except Exception as e:  # pragma: no cover - reported by the tests
        return f"nats-server: {e}"


@pytest.fixture(scope="session")
def server_version() -> tuple[int, ...]:
    """The running server's version, (2, 15, 3): compare with tuples or
    harness.parse_version("2.10.0")."""
    return parse_version(nats_server_version())


def pytest_generate_tests(metafunc):
    if "lang" in metafunc.fixturenames:
        langs = available_languages()
        metafunc.parametrize("lang", langs, ids=langs)
    if "lang_pair" in metafunc.fixturenames:
        pairs = language_pairs()
        metafunc.parametrize("lang_pair", pairs,
                             ids=[f"{a}->{b}" for a, b in pairs])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def _failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.fixture(scope="session")
def spares(tmp_path_factory):
    """The session's spare server and drivers (ServerSpares, DriverSpares):
    started while the previous test ends, taken by the next test's
    server_factory and drivers, so that a test does not wait for its
    processes to start. Each still serves one test only."""
    root = tmp_path_factory.mktemp("spares")
    servers = ServerSpares(root / "servers")
    drivers = DriverSpares(root / "drivers")
    yield servers, drivers
    drivers.close()
    servers.close()


@pytest.fixture
def server_factory(tmp_path, request, spares):
    factory = ServerFactory(tmp_path / "servers", spares=spares[0])
    yield factory
    if _failed(request):
        for s in factory.servers:
            print(f"--- {s.url} log tail ---\n{s.log_tail()}")
    factory.stop_all()


@pytest.fixture
def nats_server(server_factory):
    return server_factory.start()


@pytest.fixture
def drivers(tmp_path, request, spares):
    pool = DriverPool(tmp_path / "drivers", spares=spares[1])
    yield pool
    if _failed(request):
        for d in pool.drivers:
            tail = d.stderr_tail()
            if tail:
                print(f"--- {d} stderr ---\n{tail}")
    problems = pool.close_all()
    if problems:
        pytest.fail("driver did not exit cleanly:\n" + "\n".join(problems),
                    pytrace=False)


@pytest.fixture
def driver(drivers, lang):
    return drivers.start(lang)


@pytest.fixture
def conn(driver, nats_server):
    return driver.connect(nats_server.url)
