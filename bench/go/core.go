package main

// Core NATS modes: pub, pubsub, reqrep.

import (
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

func connect(a *benchArgs, name string) *nats.Conn {
	nc, err := nats.Connect(a.url, nats.Name(name))
	if err != nil {
		die("nats.Connect", err)
	}
	return nc
}

// pub: nc.Publish n times to a subject nobody subscribes, then a flush.
func runPub(a *benchArgs) int {
	nc := connect(a, "bench-pub")
	defer nc.Close()
	data := payload(a.size)
	var w window
	w.start()
	for i := 0; i < a.n; i++ {
		if err := nc.Publish(a.subject, data); err != nil {
			die("nc.Publish", err)
		}
	}
	if err := nc.FlushTimeout(60 * time.Second); err != nil {
		die("nc.FlushTimeout", err)
	}
	w.stop()
	report(a, &w, a.n, nil)
	return 0
}

// waitProgress waits until done is closed, giving up once `count` has not
// moved for the timeout. Returns true when done.
func waitProgress(done <-chan struct{}, count *atomic.Int64,
	timeout time.Duration) bool {
	last := int64(-1)
	for {
		select {
		case <-done:
			return true
		case <-time.After(timeout):
			now := count.Load()
			if now == last {
				return false // no progress for the timeout: stalled
			}
			last = now
		}
	}
}

// pubsub: a subscriber connection (an asynchronous subscription, its
// handler on the subscription's goroutine; "sync" variant: SubscribeSync +
// NextMsg on the main goroutine) while a second connection publishes from
// another goroutine. The clock stops at the last message received.
func runPubsub(a *benchArgs) int {
	subConn := connect(a, "bench-sub")
	defer subConn.Close()
	pubConn := connect(a, "bench-pub")
	defer pubConn.Close()
	syncAPI := a.variant == "sync"

	var w window
	var received, badSize atomic.Int64
	done := make(chan struct{})
	var sub *nats.Subscription
	var err error
	if syncAPI {
		sub, err = subConn.SubscribeSync(a.subject)
	} else {
		sub, err = subConn.Subscribe(a.subject, func(m *nats.Msg) {
			if len(m.Data) != a.size {
				badSize.Add(1)
			}
			if received.Add(1) == int64(a.n) {
				// Stop the clock here, at the last receive, as the C
				// programs do; waking main would add a hand-off.
				w.stop()
				close(done)
			}
		})
	}
	if err != nil {
		die("nc.Subscribe", err)
	}
	// No limit: the run must not lose messages to a slow consumer.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		die("sub.SetPendingLimits", err)
	}
	// The server has the SUB once the PONG is back.
	if err := subConn.FlushTimeout(10 * time.Second); err != nil {
		die("nc.FlushTimeout", err)
	}

	data := payload(a.size)
	pubErr := make(chan error, 1)
	stalled := false
	w.start()
	go func() {
		var err error
		for i := 0; i < a.n && err == nil; i++ {
			err = pubConn.Publish(a.subject, data)
		}
		if err == nil {
			err = pubConn.FlushTimeout(60 * time.Second)
		}
		pubErr <- err
	}()
	if syncAPI {
		for received.Load() < int64(a.n) {
			m, err := sub.NextMsg(a.timeout)
			if err == nats.ErrSlowConsumer {
				continue // reported once; the drop count tells the loss
			}
			if err != nil {
				if err != nats.ErrTimeout {
					die("sub.NextMsg", err)
				}
				break // stalled: count the loss below
			}
			if len(m.Data) != a.size {
				badSize.Add(1)
			}
			received.Add(1)
		}
		w.stop()
	} else {
		stalled = !waitProgress(done, &received, a.timeout)
	}
	perr := <-pubErr

	code := 0
	if stalled {
		code = lost("LOSS stalled at %d of %d", received.Load(), a.n)
	}
	if perr != nil {
		code = lost("publisher failed: %v", perr)
	}
	if got := received.Load(); got != int64(a.n) || badSize.Load() != 0 {
		dropped, _ := sub.Dropped()
		code = lost("LOSS received %d of %d (%d wrong size, %d dropped by "+
			"the client)", got, a.n, badSize.Load(), dropped)
	}
	// No handler may run once the run is reported.
	sub.Unsubscribe()
	if code == 0 {
		report(a, &w, a.n, nil)
	}
	return code
}

// reqrep: a responder connection echoes each request from an asynchronous
// subscription (msg.Respond); the requester makes n sequential
// nc.Request calls after `warmup` unmeasured ones, each timed alone.
func runReqrep(a *benchArgs) int {
	respConn := connect(a, "bench-responder")
	defer respConn.Close()
	reqConn := connect(a, "bench-requester")
	defer reqConn.Close()
	var respondFailures atomic.Int64
	sub, err := respConn.Subscribe(a.subject, func(m *nats.Msg) {
		if m.Reply == "" || m.Respond(m.Data) != nil {
			respondFailures.Add(1)
		}
	})
	if err != nil {
		die("nc.Subscribe", err)
	}
	defer sub.Unsubscribe()
	if err := respConn.FlushTimeout(10 * time.Second); err != nil {
		die("nc.FlushTimeout", err)
	}

	data := payload(a.size)
	request := func() bool {
		reply, err := reqConn.Request(a.subject, data, a.timeout)
		if err != nil {
			lost("nc.Request: %v", err)
			return false
		}
		if len(reply.Data) != a.size {
			lost("reply of the wrong size")
			return false
		}
		return true
	}
	for i := 0; i < a.warmup; i++ {
		if !request() {
			return 1
		}
	}
	samples := make([]uint64, a.n)
	var w window
	w.start()
	for i := 0; i < a.n; i++ {
		t0 := nowNs()
		if !request() {
			return 1
		}
		samples[i] = nowNs() - t0
	}
	w.stop()
	if f := respondFailures.Load(); f != 0 {
		return lost("%d responses failed", f)
	}
	lat := latencyOf(samples)
	report(a, &w, a.n, &lat)
	return 0
}
