"""aio_kv_config: kv_config.py with jetwire.aio (same arguments, same
output).

  NATS_URL=nats://127.0.0.1:4222 python aio_kv_config.py
"""
import asyncio

import jetwire
import jetwire.aio

import common


async def main():
    common.arguments(__doc__)
    async with await jetwire.aio.connect(common.server_url(),
                                         name="kv-config") as nc:
        js = nc.jetstream(timeout=5.0)
        kv = await js.create_or_update_key_value(
            bucket=common.KV_BUCKET,
            description="Service configuration store",
            ttl=86400.0, history=5, storage="file")
        print("Created KV bucket: %s" % kv.bucket)

        revision = await kv.put(common.KV_KEY, common.service_config(5000))
        print("Stored config at revision: %d" % revision)

        entry = await kv.get(common.KV_KEY)
        print("Retrieved config: %s"
              % common.describe_service_config(entry.value))

        try:
            newer = await kv.update(common.KV_KEY,
                                    common.service_config(10000),
                                    last=entry.revision)
            print("Updated config to revision: %d" % newer)
        except jetwire.WrongLastSequenceError as e:
            print("Update failed (concurrent modification?): %s" % e)

        print("Keys in bucket: %s" % common.describe_keys(await kv.keys()))

        print("Watching for configuration changes...")

        async def change_later():  # the tutorial's goroutine
            await asyncio.sleep(1)
            await kv.put(common.KV_KEY, common.service_config(10000, 5))

        writer = asyncio.ensure_future(change_later())
        live = False
        try:
            async with kv.watch(common.KV_KEY) as watcher:
                async for update in watcher:
                    if update is None:  # the current values are all out
                        live = True
                        continue
                    print(common.describe_config_update(update, live))
                    if live:
                        break
        finally:
            await writer


if __name__ == "__main__":
    common.run(main)
