package main

// The nats.go peer of bench/run_js_batch.sh: JetStream publishing as fast
// as nats.go v1.56.0 goes, PublishAsync with its default window (4000 in
// flight), into a fresh memory stream, the clock stopped when every ack
// is in. One RESULT line in bench/common.h's shape.

import (
	"context"
	"flag"
	"fmt"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 {
		return float64(t.Sec) + float64(t.Usec)/1e6
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

func runBenchJSAsync(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("bench-js-async", flag.ExitOnError)
	n := fs.Int("n", 1000000, "messages to publish")
	size := fs.Int("size", 128, "payload bytes")
	stream := fs.String("stream", "BENCHGO", "the memory stream to make (deleted first)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	subject := "bench.go." + *stream
	_ = js.DeleteStream(ctx, *stream)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: *stream, Subjects: []string{subject},
		Storage: jetstream.MemoryStorage,
	}); err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	payload := make([]byte, *size)
	start, cpu0 := time.Now(), cpuSeconds()
	for i := 0; i < *n; i++ {
		if _, err := js.PublishAsync(subject, payload); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return fmt.Errorf("acks still missing: %d", js.PublishAsyncPending())
	}
	elapsed, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
	info, err := js.Stream(ctx, *stream)
	if err != nil {
		return err
	}
	if got := info.CachedInfo().State.Msgs; got != uint64(*n) {
		return fmt.Errorf("the stream holds %d messages, not %d", got, *n)
	}
	fmt.Printf("RESULT lib=natsgo mode=jsasync size=%d n=%d variant=default "+
		"rate=%.0f elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f\n", *size, *n,
		float64(*n)/elapsed, elapsed, cpu, cpu/(float64(*n)/1e6))
	return js.DeleteStream(ctx, *stream)
}
