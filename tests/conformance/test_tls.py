"""TLS, per language, against real nats-servers with certificates the
test makes (tests/tools/make_certs.sh, openssl CLI): tls:// URLs and
servers that require TLS, verification against a CA file, host names,
mutual TLS, and every way it can fail, each a TLS error naming why."""
import subprocess

import pytest

from harness import DriverError
from harness.drivers import REPO


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    out = tmp_path_factory.mktemp("certs")
    subprocess.run(["bash", str(REPO / "tests" / "tools" / "make_certs.sh"),
                    str(out)], check=True, timeout=60)
    return out


def tls_server(server_factory, tmp_path, certs, name, verify=False,
               cert="server", extra=""):
    conf = tmp_path / f"{name}.conf"
    conf.write_text(
        "tls {\n"
        f'  cert_file: "{certs}/{cert}.pem"\n'
        f'  key_file: "{certs}/{cert}-key.pem"\n'
        f'  ca_file: "{certs}/ca.pem"\n'
        f"  verify: {'true' if verify else 'false'}\n"
        "  timeout: 2\n"
        "}\n" + extra)
    return server_factory.start(["-c", str(conf)])


def round_trip(driver, nc, subject="tls.check"):
    sub = driver.subscribe(nc, subject)
    driver.flush(nc)
    driver.publish(nc, subject, b"x" * 100_000)
    assert driver.next_msg(sub).data == b"x" * 100_000


def tls_error(driver, url, **options) -> DriverError:
    with pytest.raises(DriverError) as e:
        driver.call("connect", url=url, options=options)
    assert e.value.code == "TLS", e.value
    return e.value


def test_tls_url_and_required_server(driver, server_factory, tmp_path, certs):
    srv = tls_server(server_factory, tmp_path, certs, "tls")
    ca = str(certs / "ca.pem")
    nc = driver.connect(f"tls://127.0.0.1:{srv.port}", tls_ca_file=ca)
    round_trip(driver, nc)
    assert driver.server_info(nc)["connected_url"].startswith("tls://")
    # A nats:// URL upgrades when the server requires TLS.
    round_trip(driver, driver.connect(srv.url, tls_ca_file=ca))
    # The name checked may differ from the one dialled.
    round_trip(driver, driver.connect(srv.url, tls_ca_file=ca,
                                      tls_hostname="localhost"))


def test_tls_verification_failures(driver, server_factory, tmp_path, certs):
    srv = tls_server(server_factory, tmp_path, certs, "tls")
    # The system's trust store does not know the test CA.
    err = tls_error(driver, srv.url)
    assert "certificate verify failed" in err.message
    err = tls_error(driver, srv.url, tls_ca_file=str(certs / "rogue-ca.pem"))
    assert "certificate verify failed" in err.message
    err = tls_error(driver, srv.url, tls_ca_file=str(certs / "ca.pem"),
                    tls_hostname="nats.example.com")
    assert "certificate verify failed" in err.message
    err = tls_error(driver, srv.url, tls_ca_file=str(tmp_path / "none.pem"))
    assert "none.pem" in err.message


def test_tls_skip_verify(driver, server_factory, tmp_path, certs):
    rogue = tls_server(server_factory, tmp_path, certs, "rogue",
                       cert="rogue-server")
    tls_error(driver, rogue.url, tls_ca_file=str(certs / "ca.pem"))
    round_trip(driver, driver.connect(rogue.url,
                                      tls_insecure_skip_verify=True))


def test_mutual_tls(driver, server_factory, tmp_path, certs):
    srv = tls_server(server_factory, tmp_path, certs, "mtls", verify=True)
    ca = str(certs / "ca.pem")
    tls_error(driver, srv.url, tls_ca_file=ca)
    nc = driver.connect(srv.url, tls_ca_file=ca,
                        tls_cert_file=str(certs / "client.pem"),
                        tls_key_file=str(certs / "client-key.pem"))
    round_trip(driver, nc)
    err = tls_error(driver, srv.url, tls_ca_file=ca,
                    tls_cert_file=str(certs / "client.pem"))
    assert "tls_key_file" in err.message
    err = tls_error(driver, srv.url, tls_ca_file=ca,
                    tls_cert_file=str(certs / "client.pem"),
                    tls_key_file=str(certs / "server-key.pem"))
    assert "does not match" in err.message


def test_tls_wanted_but_not_offered(driver, nats_server, certs):
    err = tls_error(driver, nats_server.url, tls_ca_file=str(certs / "ca.pem"))
    assert "does not offer" in err.message
    tls_error(driver, f"tls://127.0.0.1:{nats_server.port}")


def test_auth_over_tls(driver, server_factory, tmp_path, certs):
    srv = tls_server(server_factory, tmp_path, certs, "tls-auth",
                     extra='authorization { user: a, password: "pw-tls" }\n')
    ca = str(certs / "ca.pem")
    round_trip(driver, driver.connect(srv.url, tls_ca_file=ca, user="a",
                                      password="pw-tls"))
    with pytest.raises(DriverError) as e:
        driver.call("connect", url=srv.url,
                    options={"tls_ca_file": ca, "user": "a",
                             "password": "wrong"})
    assert e.value.code == "AUTH"
