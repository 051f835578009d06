// Command bench_natsgo is the nats.go (v1.56.0) twin of bench/bench_natsc.c
// and bench/bench_jetwire.c: the same command line, the same modes and the
// same RESULT line (lib=natsgo), each mode measuring the window the C
// programs measure with nats.go's fastest ordinary API and default
// connection options. See bench/README.md.
//
//	bench_natsgo --mode MODE [--size BYTES] [--n COUNT] [--url URL]
//	             [--warmup COUNT] [--timeout-ms MS] [--variant NAME]
//
// Variants: "sync" (pubsub: SubscribeSync + NextMsg instead of a handler),
// "messages" (jsconsume: the Messages() iterator instead of Consume).
// Exit status: 0, 1 when a message was lost or a request failed, 2 on a
// setup error.
package main

import "os"

func main() {
	if isScale(os.Args[1:]) { // its own flags: see scale.go
		os.Exit(runScale(os.Args[1:]))
	}
	a, ok := parseArgs(os.Args[1:])
	if !ok {
		os.Exit(2)
	}
	var code int
	switch a.mode {
	case "pub":
		code = runPub(&a)
	case "pubsub":
		code = runPubsub(&a)
	case "reqrep":
		code = runReqrep(&a)
	case "jspub":
		code = runJSPub(&a)
	case "jsasync":
		code = runJSAsync(&a)
	case "jsfetch", "jsconsume":
		code = runJSConsume(&a)
	default:
		code = runKV(&a)
	}
	os.Exit(code)
}
