"""The object store (ADR-20) in every language: objects of every size
around a chunk put and read back byte for byte (the bytes form and the
streaming form, the reader in small pieces), the digest and size stored
as nats.go writes them, info, list, delete, meta updates, links, bucket
status; objects written by one language read by another; natscli v0.5.0
reads what jetwire wrote and the other way round."""
import base64
import hashlib
import subprocess

import pytest

from harness import DriverError, available_languages
from harness.drivers import REPO

NATS = REPO / ".tools" / "bin" / "nats"
CHUNK = 128 * 1024


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


def code_of(call):
    with pytest.raises(DriverError) as e:
        call()
    return e.value


def digest(data):
    return "SHA-256=" + base64.urlsafe_b64encode(
        hashlib.sha256(data).digest()).decode()


def blob(n):
    return bytes((i * 7 + i // 251) % 256 for i in range(n))


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_put_and_get_every_size(driver, js, size):
    d = driver
    obs = d.obs_create(js, bucket="files")
    data = blob(size)
    info = d.obs_put(obs, "blob.bin", data, description="a blob")
    assert (info["size"], info["digest"]) == (size, digest(data))
    assert info["chunks"] == (size + CHUNK - 1) // CHUNK
    got, info2 = d.obs_get(obs, "blob.bin")
    assert got == data and info2["digest"] == info["digest"]
    # The reader, in pieces smaller than a chunk, and the streamed put.
    d.obs_put(obs, "streamed.bin", data, stream=True)
    got, _ = d.obs_get(obs, "streamed.bin", piece=4096)
    assert got == data


def test_info_list_delete_and_meta(driver, js):
    d = driver
    obs = d.obs_create(js, bucket="docs", description="the docs")
    d.obs_put(obs, "a.txt", b"alpha", metadata={"kind": "text"})
    d.obs_put(obs, "b.txt", b"beta", chunk_size=2)
    assert d.obs_info(obs, "b.txt")["chunks"] == 2
    assert sorted(i["name"] for i in d.obs_list(obs)) == ["a.txt", "b.txt"]
    assert d.obs_info(obs, "a.txt")["metadata"] == {"kind": "text"}
    d.obs_delete(obs, "a.txt")
    assert code_of(lambda: d.obs_get(obs, "a.txt")).code == "KEY_NOT_FOUND"
    assert [i["name"] for i in d.obs_list(obs)] == ["b.txt"]
    assert d.obs_info(obs, "a.txt", show_deleted=True)["deleted"] is True
    # Rename, and a rename onto a live object refused.
    d.obs_put(obs, "c.txt", b"gamma")
    d.obs_update_meta(obs, "b.txt", {"name": "beta.txt",
                                     "description": "renamed"})
    got, info = d.obs_get(obs, "beta.txt")
    assert (got, info["description"]) == (b"beta", "renamed")
    assert code_of(lambda: d.obs_update_meta(
        obs, "beta.txt", {"name": "c.txt"})).code == "KEY_EXISTS"
    status = d.obs_status(obs)
    assert (status["bucket"], status["description"]) == ("docs", "the docs")
    assert status["size"] > 0
    assert code_of(lambda: d.obs_get(obs, "nothing")).code == \
        "KEY_NOT_FOUND"
    assert code_of(lambda: d.obs_bind(js, "nobucket")).code == \
        "BUCKET_NOT_FOUND"


def test_links(driver, js):
    d = driver
    src = d.obs_create(js, bucket="src")
    other = d.obs_create(js, bucket="other")
    d.obs_put(src, "data.bin", b"linked bytes")
    link = d.obs_link(other, "alias.bin", src, "data.bin")
    assert link["options"]["link"] == {"bucket": "src", "name": "data.bin"}
    assert d.obs_get(other, "alias.bin")[0] == b"linked bytes"
    blink = d.obs_link(other, "all-of-src", src)
    assert blink["options"]["link"]["bucket"] == "src"
    assert code_of(lambda: d.obs_get(other, "all-of-src")).code == \
        "INVALID_ARG"


def pairs():
    langs = available_languages()
    return [(a, b) for a in langs for b in langs if a != b]


@pytest.mark.parametrize("writer,reader", pairs())
def test_written_in_one_language_read_in_another(drivers, nats_server,
                                                 writer, reader):
    w, r = drivers.start(writer), drivers.start(reader)
    wjs = w.jetstream(w.connect(nats_server.url))
    rjs = r.jetstream(r.connect(nats_server.url))
    data = blob(2 * CHUNK + 5)
    info = w.obs_put(w.obs_create(wjs, bucket="shared"), "model.bin", data,
                     stream=True)
    got, rinfo = r.obs_get(r.obs_bind(rjs, "shared"), "model.bin",
                           piece=10000)
    assert got == data and rinfo["digest"] == info["digest"] == digest(data)


def nats(server, *args, input=None):
    assert NATS.exists(), f"{NATS} is missing: scripts/servers.sh builds it"
    r = subprocess.run([str(NATS), "--server", server.url, *args],
                       capture_output=True, timeout=60, input=input)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_natscli_reads_jetwire_objects_and_back(driver, js, nats_server,
                                                tmp_path):
    d = driver
    obs = d.obs_create(js, bucket="cli")
    data = blob(CHUNK * 2 + 99)
    d.obs_put(obs, "from-jetwire.bin", data)
    out = tmp_path / "got.bin"
    nats(nats_server, "obj", "get", "cli", "from-jetwire.bin", "--output",
         str(out), "--force")
    assert out.read_bytes() == data
    src = tmp_path / "from-cli.bin"
    src.write_bytes(data[::-1])
    nats(nats_server, "obj", "put", "cli", str(src), "--name",
         "from-cli.bin", "--force")
    got, info = d.obs_get(obs, "from-cli.bin", piece=CHUNK // 3)
    assert got == data[::-1] and info["digest"] == digest(data[::-1])
