"""Volume, per language: a million small messages arrive complete and in
order at one subscriber while another process publishes them."""
import pytest

MILLION = 1_000_000


@pytest.mark.slow
def test_million_messages(drivers, lang, nats_server):
    subd = drivers.start(lang, label=f"{lang}-sub")
    pubd = drivers.start(lang, label=f"{lang}-pub")
    sc = subd.connect(nats_server.url)
    sub = subd.subscribe(sc, "bulk.million", pending_msgs_limit=2 * MILLION,
                         pending_bytes_limit=1 << 30)
    subd.flush(sc)
    pc = pubd.connect(nats_server.url)

    # Both drivers work at once: the publisher loops natively while the
    # subscriber pulls in batches.
    published = pubd.publish_many_async(pc, "bulk.million", MILLION, 16)
    received = subd.send("receive_count", sub=sub, count=MILLION, timeout=90,
                         ordered=True)
    assert published.result()["published"] == MILLION
    pubd.flush(pc, timeout=30)
    got = received.result()
    assert got["reason"] == "OK", got
    assert got["received"] == MILLION
    assert got["bytes"] == 16 * MILLION
    assert got["in_order"] is True
    assert got["dropped"] == 0
    assert subd.stats(sc)["in_msgs"] >= MILLION
    assert pubd.stats(pc)["out_msgs"] >= MILLION
