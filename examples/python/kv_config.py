"""kv_config: the tutorial's "Using the Key-Value Store".

Creates (or updates) the bucket service-config (history 5, entries kept 24
hours), stores the payment service's configuration, reads it back, updates
it only if nobody changed it meanwhile (the revision), lists the keys, then
watches the key while a second thread changes it.

  NATS_URL=nats://127.0.0.1:4222 python kv_config.py
"""
import threading
import time

import jetwire

import common


def main():
    common.arguments(__doc__)
    with jetwire.connect(common.server_url(), name="kv-config") as nc:
        js = nc.jetstream(timeout=5.0)
        kv = js.create_or_update_key_value(
            bucket=common.KV_BUCKET,
            description="Service configuration store",
            ttl=86400.0, history=5, storage="file")
        print("Created KV bucket: %s" % kv.bucket)

        revision = kv.put(common.KV_KEY, common.service_config(5000))
        print("Stored config at revision: %d" % revision)

        entry = kv.get(common.KV_KEY)
        print("Retrieved config: %s"
              % common.describe_service_config(entry.value))

        # Only if the key is still at the revision just read.
        try:
            newer = kv.update(common.KV_KEY, common.service_config(10000),
                              last=entry.revision)
            print("Updated config to revision: %d" % newer)
        except jetwire.WrongLastSequenceError as e:
            print("Update failed (concurrent modification?): %s" % e)

        print("Keys in bucket: %s" % common.describe_keys(kv.keys()))

        print("Watching for configuration changes...")
        with kv.watch(common.KV_KEY) as watcher:
            def change_later():  # the tutorial's goroutine
                time.sleep(1)
                kv.put(common.KV_KEY, common.service_config(10000, 5))

            writer = threading.Thread(target=change_later)
            writer.start()
            live = False
            try:
                for update in watcher:
                    if update is None:  # the current values are all out
                        live = True
                        continue
                    print(common.describe_config_update(update, live))
                    if live:
                        break
            finally:
                writer.join()


if __name__ == "__main__":
    common.run(main)
