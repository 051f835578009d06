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
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

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

// objPattern holds the object's bytes: byte i is the low byte of
// i * 2654435761, as bench_objects makes them, a pattern with a period of
// 256; 64 KiB of it and one period more, so that any piece of up to 64 KiB
// starting anywhere is a slice of it.
var objPattern = func() []byte {
	p := make([]byte, 64*1024+256)
	for i := range p {
		p[i] = byte(uint32(i) * 2654435761)
	}
	return p
}()

// byteSource gives the object's bytes as they are read.
type byteSource struct{ at, len int }

func (s *byteSource) Read(p []byte) (int, error) {
	if s.at >= s.len {
		return 0, io.EOF
	}
	n := min(len(p), s.len-s.at, 64*1024)
	copy(p, objPattern[s.at%256:s.at%256+n])
	s.at += n
	return n, nil
}

// byteCheck counts the pieces written that are not byteSource's bytes.
type byteCheck struct{ at, wrong int }

func (c *byteCheck) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += 64 * 1024 {
		piece := p[off:min(len(p), off+64*1024)]
		at := (c.at + off) % 256
		if !bytes.Equal(piece, objPattern[at:at+len(piece)]) {
			c.wrong++
		}
	}
	c.at += len(p)
	return len(p), nil
}

func benchLine(mode string, n int, elapsed, cpu float64) {
	fmt.Printf("RESULT lib=natsgo mode=%s size=%d n=%d variant=default "+
		"rate=%.0f elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f mb_per_s=%.1f\n",
		mode, n, n, float64(n)/elapsed, elapsed, cpu, cpu/(float64(n)/1e6),
		float64(n)/1048576/elapsed)
}

// runBenchObj is the nats.go peer of bench/run_objects.sh: one object of
// -mib MiB put from a reader into a fresh file bucket, then read back
// through Get and checked byte for byte.
func runBenchObj(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("bench-obj", flag.ExitOnError)
	mib := fs.Int("mib", 256, "the object's size in MiB")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bucket := fmt.Sprintf("benchgo%d", os.Getpid())
	obs, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: bucket, Storage: jetstream.FileStorage})
	if err != nil {
		return err
	}
	defer js.DeleteObjectStore(context.Background(), bucket)
	n := *mib << 20
	start, cpu0 := time.Now(), cpuSeconds()
	if _, err := obs.Put(ctx, jetstream.ObjectMeta{Name: "big"},
		&byteSource{len: n}); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	benchLine("put", n, time.Since(start).Seconds(), cpuSeconds()-cpu0)
	start, cpu0 = time.Now(), cpuSeconds()
	res, err := obs.Get(ctx, "big")
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	check := &byteCheck{}
	if _, err := io.Copy(check, res); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	res.Close()
	if check.at != n || check.wrong != 0 {
		return fmt.Errorf("read back %d bytes, %d wrong", check.at, check.wrong)
	}
	benchLine("get", n, time.Since(start).Seconds(), cpuSeconds()-cpu0)
	return nil
}
