package main

// The object store (ADR-20) from the nats.go side, for the interop tests
// (tests/conformance/test_objstore.py): nats.go puts a file's bytes (its
// Put with a reader, chunked as nats.go chunks), gets an object's bytes
// into a file (GetBytes verifies the digest), and links to an object.
//
//	obj-put   -bucket B -name N -file F [-chunk BYTES]
//	obj-get   -bucket B -name N -file F
//	obj-link  -bucket B -name N -target-bucket T -target-name TN

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/nats-io/nats.go/jetstream"
)

func objectStore(ctx context.Context, js jetstream.JetStream, bucket string) (jetstream.ObjectStore, error) {
	obs, err := js.ObjectStore(ctx, bucket)
	if err == jetstream.ErrBucketNotFound {
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket})
	}
	return obs, err
}

func emitInfo(op string, info *jetstream.ObjectInfo) {
	emit(map[string]any{"op": op, "name": info.Name, "size": info.Size,
		"chunks": info.Chunks, "digest": info.Digest})
}

func runObjPut(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("obj-put", flag.ExitOnError)
	bucket := fs.String("bucket", "", "the bucket (made when missing)")
	name := fs.String("name", "", "the object's name")
	file := fs.String("file", "", "the file to store")
	chunk := fs.Uint("chunk", 0, "chunk size (0: nats.go's default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	obs, err := objectStore(ctx, js, *bucket)
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	meta := jetstream.ObjectMeta{Name: *name}
	if *chunk > 0 {
		meta.Opts = &jetstream.ObjectMetaOptions{ChunkSize: uint32(*chunk)}
	}
	info, err := obs.Put(ctx, meta, f)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	emitInfo("put", info)
	return nil
}

func runObjGet(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("obj-get", flag.ExitOnError)
	bucket := fs.String("bucket", "", "the bucket")
	name := fs.String("name", "", "the object's name")
	file := fs.String("file", "", "where to write its bytes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	obs, err := js.ObjectStore(ctx, *bucket)
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	data, err := obs.GetBytes(ctx, *name)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if err := os.WriteFile(*file, data, 0o600); err != nil {
		return err
	}
	info, err := obs.GetInfo(ctx, *name)
	if err != nil {
		return err
	}
	emitInfo("got", info)
	return nil
}

func runObjLink(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("obj-link", flag.ExitOnError)
	bucket := fs.String("bucket", "", "the bucket of the link")
	name := fs.String("name", "", "the link's name")
	targetBucket := fs.String("target-bucket", "", "the target's bucket")
	targetName := fs.String("target-name", "", "the target object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	obs, err := objectStore(ctx, js, *bucket)
	if err != nil {
		return err
	}
	target, err := js.ObjectStore(ctx, *targetBucket)
	if err != nil {
		return err
	}
	info, err := target.GetInfo(ctx, *targetName)
	if err != nil {
		return err
	}
	link, err := obs.AddLink(ctx, *name, info)
	if err != nil {
		return fmt.Errorf("link: %w", err)
	}
	emit(map[string]any{"op": "linked", "name": link.Name})
	return nil
}
