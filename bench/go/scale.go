package main

// Mode scale, the twin of bench/bench_scale.c: P publisher connections,
// each in a goroutine of its own, send N messages of B bytes in total into
// S handler subscriptions (nc.Subscribe) on ONE subscriber connection.
// Subscription i is scale.<pid>.s.<i>, or the wildcard scale.<pid>.w.<i>.*
// for every tenth (i % 10 == 9); message k goes to subscription k % S (a
// wildcard one as scale.<pid>.w.<i>.x), so each message matches exactly
// one subscription. The window runs from releasing the publishers until a
// handler counts the Nth message; the subscriptions' setup (subscribe,
// pending limits lifted, flush) is timed apart as sub_setup_s.
//
//	bench_natsgo --mode scale --pubs P --subs S [--size BYTES] [--n COUNT]
//	             [--url URL] [--timeout-ms MS] [--variant default]
//
// It has a command line of its own (--pubs, --subs), so main.go hands it
// the arguments before the shared parser sees them.

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// isScale tells whether the command line asks for mode scale.
func isScale(argv []string) bool {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == "--mode" && argv[i+1] == "scale" {
			return true
		}
	}
	return false
}

type scaleArgs struct {
	benchArgs
	pubs, subs int
}

func scaleUsage() {
	fmt.Fprintf(os.Stderr,
		"usage: bench_natsgo --mode scale --pubs P --subs S [--size BYTES]\n"+
			"          [--n COUNT] [--url URL] [--timeout-ms MS]\n"+
			"          [--variant default]\n")
}

func parseScaleArgs(argv []string) (scaleArgs, bool) {
	a := scaleArgs{benchArgs: benchArgs{url: "nats://127.0.0.1:4222",
		mode: "scale", size: 16, n: 100000, variant: "default",
		timeoutMs: 10000}, pubs: 1, subs: 1}
	for i := 0; i < len(argv); i++ {
		opt := argv[i]
		if opt == "-h" || opt == "--help" {
			scaleUsage()
			os.Exit(0)
		}
		if i+1 >= len(argv) {
			return a, false
		}
		val := argv[i+1]
		i++
		ok := true
		switch opt {
		case "--url":
			a.url = val
		case "--mode":
			ok = val == "scale"
		case "--variant":
			ok = val == "default"
			a.variant = val
		case "--pubs":
			a.pubs, ok = parseMin(val, 1)
		case "--subs":
			a.subs, ok = parseMin(val, 1)
		case "--size":
			a.size, ok = parseMin(val, 0)
		case "--n":
			a.n, ok = parseMin(val, 1)
		case "--timeout-ms":
			a.timeoutMs, ok = parseMin(val, 1)
		default:
			ok = false
		}
		if !ok {
			return a, false
		}
	}
	a.timeout = time.Duration(a.timeoutMs) * time.Millisecond
	return a, true
}

func runScale(argv []string) int {
	a, ok := parseScaleArgs(argv)
	if !ok {
		scaleUsage()
		return 2
	}
	pid := os.Getpid()
	subSubjects := make([]string, a.subs)
	pubSubjects := make([]string, a.subs)
	for i := range subSubjects {
		if i%10 == 9 {
			subSubjects[i] = fmt.Sprintf("scale.%d.w.%d.*", pid, i)
			pubSubjects[i] = fmt.Sprintf("scale.%d.w.%d.x", pid, i)
		} else {
			subSubjects[i] = fmt.Sprintf("scale.%d.s.%d", pid, i)
			pubSubjects[i] = subSubjects[i]
		}
	}

	subConn := connect(&a.benchArgs, "bench-scale-sub")
	defer subConn.Close()
	var w window
	var received, badSize atomic.Int64
	done := make(chan struct{})
	handler := func(m *nats.Msg) {
		if len(m.Data) != a.size {
			badSize.Add(1)
		}
		// The handler that counts the last message stops the clock.
		if received.Add(1) == int64(a.n) {
			w.stop()
			close(done)
		}
	}
	subs := make([]*nats.Subscription, a.subs)
	setupStart := nowNs()
	for i, subject := range subSubjects {
		sub, err := subConn.Subscribe(subject, handler)
		if err != nil {
			die("nc.Subscribe", err)
		}
		// No limit: the run must not lose messages to a slow consumer.
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			die("sub.SetPendingLimits", err)
		}
		subs[i] = sub
	}
	// The server has every SUB once the PONG is back.
	if err := subConn.FlushTimeout(60 * time.Second); err != nil {
		die("nc.FlushTimeout", err)
	}
	setupS := float64(nowNs()-setupStart) / 1e9

	// Publisher j sends messages j, j + P, j + 2P, ... below N, then
	// flushes; all wait for `start` after connecting.
	data := payload(a.size)
	start := make(chan struct{})
	pubErrs := make([]error, a.pubs)
	var wg sync.WaitGroup
	for j := 0; j < a.pubs; j++ {
		nc := connect(&a.benchArgs, "bench-scale-pub")
		defer nc.Close()
		wg.Add(1)
		go func(j int, nc *nats.Conn) {
			defer wg.Done()
			<-start
			var err error
			for k := j; k < a.n && err == nil; k += a.pubs {
				err = nc.Publish(pubSubjects[k%a.subs], data)
			}
			if err == nil {
				err = nc.FlushTimeout(60 * time.Second)
			}
			pubErrs[j] = err
		}(j, nc)
	}

	w.start()
	close(start)
	stalled := !waitProgress(done, &received, a.timeout)
	wg.Wait()

	code := 0
	for j, err := range pubErrs {
		if err != nil {
			code = lost("publisher %d failed: %v", j, err)
		}
	}
	// A message matching two subscriptions would be counted past N: one
	// more round trip lets such extras arrive before the count is read.
	if !stalled {
		subConn.FlushTimeout(10 * time.Second)
	}
	var dropped int
	for _, sub := range subs {
		d, _ := sub.Dropped()
		dropped += d
	}
	got := received.Load()
	if stalled || got != int64(a.n) || badSize.Load() != 0 || dropped != 0 {
		code = lost("LOSS received %d of %d (stalled %v, %d wrong size, "+
			"%d dropped by the client)", got, a.n, stalled, badSize.Load(),
			dropped)
	}
	if code == 0 {
		elapsed := float64(w.endNs-w.startNs) / 1e9
		cpu := w.cpuEnd - w.cpuStart
		fmt.Printf("RESULT lib=%s mode=scale size=%d n=%d variant=%s "+
			"rate=%.0f elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f "+
			"pubs=%d subs=%d mb_per_s=%.1f sub_setup_s=%.4f\n",
			libName, a.size, a.n, a.variant, float64(a.n)/elapsed, elapsed,
			cpu, cpu/(float64(a.n)/1e6), a.pubs, a.subs,
			float64(a.n)*float64(a.size)/1048576.0/elapsed, setupS)
	}
	// No handler may run once the run is reported.
	for _, sub := range subs {
		sub.Unsubscribe()
	}
	return code
}
