"""obs_files: the JetStream object store (ADR-20).

Creates the bucket "files" (file storage), stores a report from bytes and
1 MiB of data from a file-like object, reads the data back in 64 KiB
pieces, adds a link to the report and reads through it, lists the bucket,
then deletes the report and lists it again.

  NATS_URL=nats://127.0.0.1:4222 python obs_files.py

An object is kept as chunks of 128 KiB and one meta message that carries
its size and SHA-256 digest; a read checks both at the end.
"""
import io

import jetwire

import common

REPORT = b"quarterly numbers\n" * 10000  # 180,000 bytes
DATA = bytes(i % 256 for i in range(1024 * 1024))  # 1 MiB


def stored(info):
    print("Stored %s: %d bytes in %d chunks, %s"
          % (info.name, info.size, info.chunks, info.digest))


def listing(obs):
    """The names the bucket lists, sorted, as one line."""
    return ", ".join(sorted(info.name for info in obs.list()))


def main():
    common.arguments(__doc__)
    with jetwire.connect(common.server_url(), name="obs-files") as nc:
        js = nc.jetstream(timeout=5.0)
        try:
            js.delete_object_store("files")  # start from zero
        except jetwire.BucketNotFoundError:
            pass
        with js.create_object_store("files", storage="file") as obs:
            # From bytes, with a description; then from a file-like object,
            # read in pieces (a real program would pass open(path, "rb")).
            stored(obs.put("report.txt", REPORT, description="Q3 report"))
            stored(obs.put("data.bin", io.BytesIO(DATA)))

            # Back through a reader, 64 KiB at a time: the reader raises
            # ProtocolError at the end if size or digest do not match.
            total = 0
            with obs.get("data.bin") as reader:
                while piece := reader.read(65536):
                    total += len(piece)
            print("Read data.bin back: %d bytes, digest checked" % total)

            # A link is an object of its own that names another; a get
            # follows it.
            obs.add_link("latest", obs, "report.txt")
            print("latest -> report.txt: %d bytes"
                  % len(obs.get_bytes("latest")))
            print("Objects: " + listing(obs))

            # A delete leaves a marker and purges the chunks; a link to the
            # deleted object stays (a get through it is KeyNotFoundError).
            obs.delete("report.txt")
            print("After delete: " + listing(obs))
    return 0


if __name__ == "__main__":
    common.run(main)
