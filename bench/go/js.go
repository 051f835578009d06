package main

// JetStream and Key-Value modes, through the jetstream package, on the
// memory stream (or bucket) the C programs use: made before measuring,
// deleted after.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// asyncFailures counts async publishes whose ack came back as an error.
var asyncFailures atomic.Int64

// newJetStream uses the C programs' settings: API calls time out after
// --timeout-ms, and async publishes keep at most 4000 in flight (nats.go's
// default, set here so that the figure is visible beside the C ones).
func newJetStream(nc *nats.Conn, a *benchArgs) jetstream.JetStream {
	js, err := jetstream.New(nc,
		jetstream.WithDefaultTimeout(a.timeout),
		jetstream.WithPublishAsyncMaxPending(4000),
		jetstream.WithPublishAsyncErrHandler(
			func(jetstream.JetStream, *nats.Msg, error) {
				asyncFailures.Add(1)
			}))
	if err != nil {
		die("jetstream.New", err)
	}
	return js
}

func jsSetup(a *benchArgs, name string) (*nats.Conn, jetstream.JetStream) {
	nc := connect(a, name)
	js := newJetStream(nc, a)
	_, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name:     a.stream,
		Subjects: []string{a.subject},
		Storage:  jetstream.MemoryStorage,
	})
	if err != nil {
		die("js.CreateStream", err)
	}
	return nc, js
}

func jsTeardown(nc *nats.Conn, js jetstream.JetStream, a *benchArgs) {
	js.DeleteStream(context.Background(), a.stream)
	nc.Close()
}

// jspub: n publishes, each waiting for its PubAck.
func runJSPub(a *benchArgs) int {
	nc, js := jsSetup(a, "bench-jspub")
	defer jsTeardown(nc, js, a)
	data := payload(a.size)
	ctx := context.Background()
	var w window
	w.start()
	for i := 0; i < a.n; i++ {
		if _, err := js.Publish(ctx, a.subject, data); err != nil {
			die("js.Publish", err)
		}
	}
	w.stop()
	report(a, &w, a.n, nil)
	return 0
}

// publishAsyncAll publishes n messages with PublishAsync and waits (up to
// the timeout) until every ack is in.
func publishAsyncAll(js jetstream.JetStream, a *benchArgs, data []byte, n int) {
	for i := 0; i < n; i++ {
		if _, err := js.PublishAsync(a.subject, data); err != nil {
			die("js.PublishAsync", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(a.timeout):
		die("js.PublishAsyncComplete",
			fmt.Errorf("%d acks still missing", js.PublishAsyncPending()))
	}
}

// jsasync: first publish to the last PubAck.
func runJSAsync(a *benchArgs) int {
	nc, js := jsSetup(a, "bench-jsasync")
	defer jsTeardown(nc, js, a)
	data := payload(a.size)
	var w window
	w.start()
	publishAsyncAll(js, a, data, a.n)
	w.stop()
	if f := asyncFailures.Load(); f != 0 {
		return lost("%d async publishes failed", f)
	}
	report(a, &w, a.n, nil)
	return 0
}

// jsfetch and jsconsume: n messages stored before the clock starts, then
// taken by a durable explicit-ack consumer (max_ack_pending -1) and acked
// one by one; the window ends with a flush, so the acks are out.
func runJSConsume(a *benchArgs) int {
	nc, js := jsSetup(a, "bench-"+a.mode)
	defer jsTeardown(nc, js, a)
	publishAsyncAll(js, a, payload(a.size), a.n)
	if asyncFailures.Load() != 0 {
		die("prefill", errors.New("async publishes failed"))
	}
	var w window
	var code int
	if a.mode == "jsconsume" && a.variant == "push" {
		code = pushConsumeAll(a, js, &w)
	} else {
		code = pullAll(a, js, &w)
	}
	if code != 0 {
		return code
	}
	if err := nc.FlushTimeout(a.timeout); err != nil {
		die("nc.FlushTimeout", err)
	}
	w.stop()
	report(a, &w, a.n, nil)
	return 0
}

// pullAll: a pull consumer, fetched (jsfetch) or consumed continuously.
func pullAll(a *benchArgs, js jetstream.JetStream, w *window) int {
	cons, err := js.CreateOrUpdateConsumer(context.Background(), a.stream,
		jetstream.ConsumerConfig{
			Durable:       jsDurable,
			AckPolicy:     jetstream.AckExplicitPolicy,
			MaxAckPending: -1,
		})
	if err != nil {
		die("js.CreateOrUpdateConsumer", err)
	}
	switch {
	case a.mode == "jsfetch":
		return fetchAll(a, cons, w)
	case a.variant == "messages":
		return iterateAll(a, cons, w)
	default:
		return consumeAll(a, cons, w)
	}
}

// pushConsumeAll: the "push" variant of jsconsume, a push consumer (to an
// inbox) consumed with its Consume and a handler acking each message, as
// nats.c's js_Subscribe and jetwire's push consumption do.
func pushConsumeAll(a *benchArgs, js jetstream.JetStream, w *window) int {
	cons, err := js.CreateOrUpdatePushConsumer(context.Background(),
		a.stream, jetstream.ConsumerConfig{
			Durable:        jsDurable,
			AckPolicy:      jetstream.AckExplicitPolicy,
			MaxAckPending:  -1,
			DeliverSubject: nats.NewInbox(),
		})
	if err != nil {
		die("js.CreateOrUpdatePushConsumer", err)
	}
	return handleAll(a, w, func(h jetstream.MessageHandler) (jetstream.ConsumeContext, error) {
		return cons.Consume(h)
	})
}

// handleAll: start (a Consume) with a handler (on the subscription's
// goroutine) that acks each message, and wait for the n-th.
func handleAll(a *benchArgs, w *window,
	start func(jetstream.MessageHandler) (jetstream.ConsumeContext, error)) int {
	var consumed, ackFailures atomic.Int64
	done := make(chan struct{})
	w.start()
	cc, err := start(func(m jetstream.Msg) {
		if m.Ack() != nil {
			ackFailures.Add(1)
		}
		if consumed.Add(1) == int64(a.n) {
			close(done)
		}
	})
	if err != nil {
		die("cons.Consume", err)
	}
	defer cc.Stop()
	if !waitProgress(done, &consumed, a.timeout) {
		return lost("consumption stalled at %d", consumed.Load())
	}
	if f := ackFailures.Load(); f != 0 {
		return lost("%d acks failed", f)
	}
	return 0
}

// fetchAll: Fetch in batches of 256, each message acked.
func fetchAll(a *benchArgs, cons jetstream.Consumer, w *window) int {
	received := 0
	w.start()
	for received < a.n {
		want := min(a.n-received, jsBatch)
		batch, err := cons.Fetch(want, jetstream.FetchMaxWait(a.timeout))
		if err != nil {
			die("cons.Fetch", err)
		}
		got := 0
		for m := range batch.Messages() {
			if err := m.Ack(); err != nil {
				die("msg.Ack", err)
			}
			got++
		}
		if err := batch.Error(); err != nil {
			die("cons.Fetch", err)
		}
		if got == 0 {
			die("cons.Fetch", nats.ErrTimeout)
		}
		received += got
	}
	return 0
}

// consumeAll: Consume with an acking handler (handleAll), the consumer
// kept asked for 1024 messages as jetwire's consume is (nats.go's default
// is 500).
func consumeAll(a *benchArgs, cons jetstream.Consumer, w *window) int {
	return handleAll(a, w, func(h jetstream.MessageHandler) (jetstream.ConsumeContext, error) {
		return cons.Consume(h, jetstream.PullMaxMessages(jsConsumeBatch))
	})
}

// iterateAll ("messages" variant): the Messages() iterator on the main
// goroutine instead of a handler.
func iterateAll(a *benchArgs, cons jetstream.Consumer, w *window) int {
	w.start()
	it, err := cons.Messages(jetstream.PullMaxMessages(jsConsumeBatch))
	if err != nil {
		die("cons.Messages", err)
	}
	defer it.Stop()
	for i := 0; i < a.n; i++ {
		m, err := it.Next(jetstream.NextMaxWait(a.timeout))
		if err != nil {
			return lost("consumption stopped at %d: %v", i, err)
		}
		if err := m.Ack(); err != nil {
			return lost("msg.Ack: %v", err)
		}
	}
	return 0
}

// kvPutAll puts n values, cycling over `keys` keys.
func kvPutAll(kv jetstream.KeyValue, data []byte, n, keys int) {
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := kv.Put(ctx, fmt.Sprintf("k%d", i%keys), data); err != nil {
			die("kv.Put", err)
		}
	}
}

// kvput, kvget (the latest value, a direct get), kvwatch (the initial
// values of n keys up to the end marker) on a memory bucket named like
// the stream, history 1.
func runKV(a *benchArgs) int {
	nc := connect(a, "bench-kv")
	defer nc.Close()
	js := newJetStream(nc, a)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:  a.stream,
		Storage: jetstream.MemoryStorage,
	})
	if err != nil {
		die("js.CreateKeyValue", err)
	}
	defer js.DeleteKeyValue(ctx, a.stream)
	data := payload(a.size)
	var w window
	switch a.mode {
	case "kvput":
		w.start()
		kvPutAll(kv, data, a.n, kvKeys)
		w.stop()
	case "kvget":
		kvPutAll(kv, data, kvKeys, kvKeys)
		w.start()
		for i := 0; i < a.n; i++ {
			if _, err := kv.Get(ctx, fmt.Sprintf("k%d", i%kvKeys)); err != nil {
				die("kv.Get", err)
			}
		}
		w.stop()
	default:
		kvPutAll(kv, data, a.n, a.n)
		// A stall check on a ticker rather than a timer per entry, which
		// would cost more than receiving the entry.
		stall := time.NewTicker(a.timeout)
		defer stall.Stop()
		seen, lastSeen := 0, -1
		w.start()
		watcher, err := kv.WatchAll(ctx)
		if err != nil {
			die("kv.WatchAll", err)
		}
	watch:
		for {
			select {
			case e := <-watcher.Updates():
				if e == nil {
					break watch // the end of the initial values
				}
				seen++
			case <-stall.C:
				if seen == lastSeen {
					die("watcher.Updates", nats.ErrTimeout)
				}
				lastSeen = seen
			}
		}
		w.stop()
		watcher.Stop()
		if seen != a.n {
			return lost("watch saw %d of %d keys", seen, a.n)
		}
	}
	report(a, &w, a.n, nil)
	return 0
}
