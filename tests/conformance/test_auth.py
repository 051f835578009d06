"""Authentication, per language, against real nats-servers: user/password
and token (options and URL), NKey seeds, and .creds files on an
operator-mode server whose operator, account and users tests/tools/
jw_authgen makes afresh for each test. Failures are AUTH with the server's
reason, and secrets never appear in error texts."""
import subprocess

import pytest

from harness import DriverError, build_dir


@pytest.fixture
def auth_dir(tmp_path):
    tool = build_dir() / "tests" / "jw_authgen"
    assert tool.exists(), f"{tool} is not built (cmake --build build)"
    out = tmp_path / "auth"
    out.mkdir()
    subprocess.run([str(tool), str(out)], check=True, timeout=30)
    return out


def server_with(server_factory, tmp_path, name, text):
    conf = tmp_path / f"{name}.conf"
    conf.write_text(text)
    return server_factory.start(["-c", str(conf)])


def secret_absent(err: DriverError, *secrets: str) -> None:
    for s in secrets:
        assert s not in err.message, "a secret leaked into an error text"


def expect_auth_error(driver, url, **options) -> DriverError:
    with pytest.raises(DriverError) as e:
        driver.call("connect", url=url, options=options)
    assert e.value.code == "AUTH", e.value
    return e.value


def round_trip(driver, nc, subject="auth.check"):
    sub = driver.subscribe(nc, subject)
    driver.flush(nc)
    driver.publish(nc, subject, b"in")
    assert driver.next_msg(sub).data == b"in"


def test_user_password(driver, server_factory, tmp_path):
    srv = server_with(server_factory, tmp_path, "userpass",
                      'authorization { user: alice, password: "s3cr3t-pw" }\n')
    round_trip(driver, driver.connect(srv.url, user="alice",
                                      password="s3cr3t-pw"))
    url = f"nats://alice:s3cr3t-pw@127.0.0.1:{srv.port}"
    round_trip(driver, driver.connect(url))
    err = expect_auth_error(driver, srv.url, user="alice",
                            password="wrong-pw-123")
    assert "Authorization Violation" in err.message
    secret_absent(err, "wrong-pw-123", "s3cr3t-pw")
    expect_auth_error(driver, srv.url)


def test_token(driver, server_factory, tmp_path):
    srv = server_with(server_factory, tmp_path, "token",
                      'authorization { token: "tok-4242" }\n')
    round_trip(driver, driver.connect(srv.url, token="tok-4242"))
    round_trip(driver, driver.connect(f"nats://tok-4242@127.0.0.1:{srv.port}"))
    err = expect_auth_error(driver, srv.url, token="tok-0000")
    secret_absent(err, "tok-0000", "tok-4242")


def test_nkey_seed(driver, server_factory, tmp_path, auth_dir):
    srv = server_with(server_factory, tmp_path, "nkey",
                      "include \"auth/nkey.conf\"\n")
    round_trip(driver, driver.connect(srv.url,
                                      nkeys_seed=str(auth_dir / "user.nk")))
    seed = (auth_dir / "user.nk").read_text().strip()

    # Without a key, or with some other valid seed: refused by the server.
    expect_auth_error(driver, srv.url)
    other = tmp_path / "other.nk"
    other.write_text((auth_dir / "user.creds").read_text().split(
        "-----BEGIN USER NKEY SEED-----\n")[1].split("\n")[0] + "\n")
    err = expect_auth_error(driver, srv.url, nkeys_seed=str(other))
    assert "Authorization Violation" in err.message

    # A damaged or missing file is reported without its contents.
    bad = tmp_path / "bad.nk"
    # (A middle character: the last one carries padding bits.)
    flip = "A" if seed[10] != "A" else "B"
    bad.write_text(seed[:10] + flip + seed[11:] + "\n")
    err = expect_auth_error(driver, srv.url, nkeys_seed=str(bad))
    assert "checksum" in err.message
    secret_absent(err, seed[:10], seed[11:])
    err = expect_auth_error(driver, srv.url,
                            nkeys_seed=str(tmp_path / "missing.nk"))
    assert "missing.nk" in err.message


def test_user_credentials(driver, server_factory, tmp_path, auth_dir):
    srv = server_with(server_factory, tmp_path, "operator",
                      "include \"auth/server.conf\"\n")
    nc = driver.connect(srv.url, user_credentials=str(auth_dir / "user.creds"))
    round_trip(driver, nc)

    for name in ("expired.creds", "untrusted.creds"):
        err = expect_auth_error(driver, srv.url,
                                user_credentials=str(auth_dir / name))
        assert "Authorization Violation" in err.message, name
    expect_auth_error(driver, srv.url)

    empty = tmp_path / "empty.creds"
    empty.write_text("no blocks here\n")
    err = expect_auth_error(driver, srv.url, user_credentials=str(empty))
    assert "JWT" in err.message
