package main

// The tutorial's configuration store: the bucket service-config, the
// payment service's configuration put, read, updated with the revision
// it was read at, and watched.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	bucketName = "service-config"
	configKey  = "payment-service"
)

// ServiceConfig is the tutorial's configuration value.
type ServiceConfig struct {
	Endpoint    string   `json:"endpoint"`
	Timeout     int      `json:"timeout_ms"`
	MaxRetries  int      `json:"max_retries"`
	Features    []string `json:"features"`
	LastUpdated string   `json:"last_updated"`
}

// serviceConfigBucket is the tutorial's bucket: 5 revisions per key,
// entries kept 24 hours, on disk.
var serviceConfigBucket = jetstream.KeyValueConfig{
	Bucket:      bucketName,
	Description: "Service configuration store",
	TTL:         24 * time.Hour,
	History:     5,
	Storage:     jetstream.FileStorage,
}

// configFlags are the flags of the commands that write a configuration.
type configFlags struct {
	key        *string
	timeoutMS  *int
	maxRetries *int
}

func newConfigFlags(fs *flag.FlagSet) configFlags {
	return configFlags{
		key:        fs.String("key", configKey, "the key"),
		timeoutMS:  fs.Int("timeout-ms", 5000, "the config's timeout_ms"),
		maxRetries: fs.Int("max-retries", 3, "the config's max_retries"),
	}
}

func (f configFlags) value() ([]byte, error) {
	return json.Marshal(ServiceConfig{
		Endpoint:    "https://api.example.com",
		Timeout:     *f.timeoutMS,
		MaxRetries:  *f.maxRetries,
		Features:    []string{"caching", "compression", "retry"},
		LastUpdated: time.Now().UTC().Format(time.RFC3339),
	})
}

// openBucket creates or updates the tutorial's bucket, as each of its
// programs does first.
func openBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, serviceConfigBucket)
	if err != nil {
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	return kv, nil
}

// entryLine is how an entry is printed.
func entryLine(op string, e jetstream.KeyValueEntry) map[string]any {
	return map[string]any{
		"op": op, "key": e.Key(), "revision": e.Revision(),
		"value": string(e.Value()), "operation": e.Operation().String(),
	}
}

func runKVPut(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("kv-put", flag.ExitOnError)
	cfg := newConfigFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kv, err := openBucket(ctx, js)
	if err != nil {
		return err
	}
	value, err := cfg.value()
	if err != nil {
		return err
	}
	revision, err := kv.Put(ctx, *cfg.key, value)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	emit(map[string]any{"op": "put", "key": *cfg.key, "revision": revision,
		"value": string(value)})
	return nil
}

func runKVGet(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("kv-get", flag.ExitOnError)
	key := fs.String("key", configKey, "the key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kv, err := js.KeyValue(ctx, bucketName)
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	entry, err := kv.Get(ctx, *key)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	emit(entryLine("get", entry))
	return nil
}

// runKVUpdate is the tutorial's optimistic update. A revision that is not
// the key's latest any more is a result, not a failure: it prints
// {"op":"update","conflict":true} and exits 0.
func runKVUpdate(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("kv-update", flag.ExitOnError)
	cfg := newConfigFlags(fs)
	revision := fs.Uint64("revision", 0, "the revision the key must be at")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kv, err := js.KeyValue(ctx, bucketName)
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	value, err := cfg.value()
	if err != nil {
		return err
	}
	newRevision, err := kv.Update(ctx, *cfg.key, value, *revision)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		emit(map[string]any{"op": "update", "key": *cfg.key,
			"conflict": true, "error": err.Error()})
		return nil
	}
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	emit(map[string]any{"op": "update", "key": *cfg.key,
		"revision": newRevision, "value": string(value)})
	return nil
}

// runKVWatch prints the key's current entry, {"op":"initial_done"} once
// the current values are out (at once for a key never written), then
// each update, and returns after -updates of them.
func runKVWatch(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("kv-watch", flag.ExitOnError)
	key := fs.String("key", configKey, "the key (or a wildcard)")
	updates := fs.Int("updates", 1, "updates to wait for")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kv, err := openBucket(ctx, js)
	if err != nil {
		return err
	}
	watcher, err := kv.Watch(ctx, *key)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer watcher.Stop()

	initialDone, seen := false, 0
	for seen < *updates {
		select {
		case entry, open := <-watcher.Updates():
			if !open {
				return errors.New("the watch ended")
			}
			if entry == nil {
				initialDone = true
				emit(map[string]any{"op": "initial_done"})
				continue
			}
			if !initialDone {
				emit(entryLine("current", entry))
				continue
			}
			emit(entryLine("update", entry))
			seen++
		case <-ctx.Done():
			return fmt.Errorf("%d of %d updates: %w", seen, *updates, ctx.Err())
		}
	}
	return nil
}
