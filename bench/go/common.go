package main

// What bench/common.h owns for the C programs, in Go: the command line,
// the clocks, CPU accounting, percentiles and the RESULT line. Kept to the
// same rules (argument limits, nearest-rank percentiles, the order of the
// clock and CPU readings) so that the three programs measure alike.

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	libName  = "natsgo"
	variants = "default sync messages push"

	// The constants of bench/common.h.
	kvKeys         = 1000 // put and get cycle over this many keys
	jsBatch        = 256  // fetch batch
	jsDurable      = "bench"
	jsConsumeBatch = 1024 // messages a continuous consumer keeps asked for
	defaultWarmup  = 200
)

var modes = []string{"pub", "pubsub", "reqrep", "jspub", "jsasync",
	"jsfetch", "jsconsume", "kvput", "kvget", "kvwatch"}

type benchArgs struct {
	url       string
	mode      string
	size      int
	n         int
	warmup    int
	variant   string
	timeout   time.Duration
	subject   string // unique per process
	stream    string // JetStream modes: the stream (or bucket), unique too
	timeoutMs int
}

func usage() {
	fmt.Fprintf(os.Stderr,
		"usage: bench_natsgo --mode pub|pubsub|reqrep|jspub|jsasync|jsfetch|jsconsume|\n"+
			"                 kvput|kvget|kvwatch\n"+
			"          [--size BYTES] [--n COUNT]\n"+
			"          [--url URL] [--warmup COUNT] [--timeout-ms MS]\n"+
			"          [--variant NAME]\n"+
			"variants of this program: %s\n", variants)
}

func parseMin(text string, min int) (int, bool) {
	v, err := strconv.Atoi(text)
	return v, err == nil && v >= min
}

// parseArgs reads the command line as bench_parse_args does: "--opt value"
// pairs only, a mode required, and a variant this program knows, so that a
// typo cannot silently measure the default. Returns false after printing
// the usage.
func parseArgs(argv []string) (benchArgs, bool) {
	a := benchArgs{
		url: "nats://127.0.0.1:4222", size: 16, n: 100000,
		warmup: defaultWarmup, variant: "default", timeoutMs: 10000,
	}
	for i := 0; i < len(argv); i++ {
		opt := argv[i]
		if opt == "-h" || opt == "--help" {
			usage()
			os.Exit(0)
		}
		if i+1 >= len(argv) {
			usage()
			return a, false
		}
		val := argv[i+1]
		i++
		ok := true
		switch opt {
		case "--url":
			a.url = val
		case "--mode":
			a.mode = val
			ok = false
			for _, m := range modes {
				ok = ok || m == val
			}
		case "--size":
			a.size, ok = parseMin(val, 0)
		case "--n":
			a.n, ok = parseMin(val, 1)
		case "--warmup":
			a.warmup, ok = parseMin(val, 0)
		case "--timeout-ms":
			a.timeoutMs, ok = parseMin(val, 1)
		case "--variant":
			a.variant = val
		default:
			ok = false
		}
		if !ok {
			usage()
			return a, false
		}
	}
	known := false
	for _, v := range strings.Fields(variants) {
		known = known || v == a.variant
	}
	if a.mode == "" || !known {
		usage()
		return a, false
	}
	a.timeout = time.Duration(a.timeoutMs) * time.Millisecond
	a.subject = fmt.Sprintf("bench.%d.%s", os.Getpid(), a.mode)
	a.stream = fmt.Sprintf("BENCH_%d", os.Getpid())
	return a, true
}

// die reports a setup failure (or a library call failing where the C
// programs also give up) and exits 2, as their die() does.
func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "bench_natsgo: %s: %v\n", what, err)
	os.Exit(2)
}

// lost reports a lost message or a failed request: exit status 1.
func lost(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "bench_natsgo: "+format+"\n", args...)
	return 1
}

// The monotonic clock, in nanoseconds since the program started.
var clockBase = time.Now()

func nowNs() uint64 { return uint64(time.Since(clockBase)) }

// cpuSeconds is the user + system CPU of the whole process (every thread:
// the runtime's, the connections' and the program's), from
// getrusage(RUSAGE_SELF).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec) + float64(ru.Utime.Usec)/1e6 +
		float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
}

// window is the measured span: wall clock and process CPU. start reads the
// CPU first and stop reads it last, as bench_window_start/stop do.
type window struct {
	startNs, endNs   uint64
	cpuStart, cpuEnd float64
}

func (w *window) start() {
	w.cpuStart = cpuSeconds()
	w.startNs = nowNs()
}

func (w *window) stop() {
	w.endNs = nowNs()
	w.cpuEnd = cpuSeconds()
}

// payload is `size` bytes of the alphabet, as bench_payload makes them.
func payload(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	return data
}

type latency struct {
	p50, p90, p99, max, mean float64 // microseconds
}

// rank is the nearest-rank percentile of sorted samples.
func rank(sorted []uint64, pct int) uint64 {
	n := len(sorted)
	r := (n*pct + 99) / 100
	if r < 1 {
		r = 1
	}
	return sorted[r-1]
}

// latencyOf sorts samples in place.
func latencyOf(samples []uint64) latency {
	if len(samples) == 0 {
		return latency{}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	sum := 0.0
	for _, s := range samples {
		sum += float64(s)
	}
	return latency{
		p50:  float64(rank(samples, 50)) / 1e3,
		p90:  float64(rank(samples, 90)) / 1e3,
		p99:  float64(rank(samples, 99)) / 1e3,
		max:  float64(samples[len(samples)-1]) / 1e3,
		mean: sum / float64(len(samples)) / 1e3,
	}
}

// report prints the RESULT line run.sh parses; lat only for reqrep.
func report(a *benchArgs, w *window, count int, lat *latency) {
	elapsed := float64(w.endNs-w.startNs) / 1e9
	cpu := w.cpuEnd - w.cpuStart
	rate := 0.0
	if elapsed > 0 {
		rate = float64(count) / elapsed
	}
	line := fmt.Sprintf("RESULT lib=%s mode=%s size=%d n=%d variant=%s "+
		"rate=%.0f elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f",
		libName, a.mode, a.size, count, a.variant, rate, elapsed, cpu,
		cpu/(float64(count)/1e6))
	if lat != nil {
		line += fmt.Sprintf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f "+
			"max_us=%.1f mean_us=%.1f",
			lat.p50, lat.p90, lat.p99, lat.max, lat.mean)
	}
	fmt.Println(line)
}
