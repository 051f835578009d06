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
* conn: a connection of `driver` to `nats_server`.
"""
from __future__ import annotations

import pytest

from harness import DriverPool, ServerFactory, available_languages, language_pairs


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


@pytest.fixture
def server_factory(tmp_path, request):
    factory = ServerFactory(tmp_path / "servers")
    yield factory
    if _failed(request):
        for s in factory.servers:
            print(f"--- {s.url} log tail ---\n{s.log_tail()}")
    factory.stop_all()


@pytest.fixture
def nats_server(server_factory):
    return server_factory.start()


@pytest.fixture
def drivers(tmp_path, request):
    pool = DriverPool(tmp_path / "drivers")
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
