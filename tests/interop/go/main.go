// Command gointerop runs the nats.go tutorial's JetStream and Key-Value
// programs, and a micro service, against a server, as the Go side of
// jetwire's interop tests (tests/conformance/test_interop_go.py).
//
//	gointerop [-server URL] COMMAND [flags]
//
// The server is -server, else $NATS_URL, else nats://127.0.0.1:4222.
// Commands (each has -h):
//
//	publish        "Creating Streams and Consumers": the stream ORDERS, then orders
//	consume        "Durable Consumer": order-processor, N orders fetched and acked
//	consumer-info  the state of order-processor (delivered, ack floor, pending)
//	kv-put         "Using the Key-Value Store": the bucket, then a config put
//	kv-get         the latest entry of a key
//	kv-update      a put only if the key is still at -revision
//	kv-watch       the key's entries, the end of the initial values, N updates
//	group-pull     pull a priority group (ADR-42) until N messages, then leave
//	group-peer     one priority-group puller driven by JSON requests on stdin
//	micro-serve    a micro service (echo, math.add) until stdin closes
//	micro-discover $SRV.PING/INFO/STATS replies as nats.go's micro types
//	bench-js-async the nats.go peer of bench/run_js_batch.sh
//	schedule       a message schedule published with nats.go's options
//	consumer-reset ResetConsumer / ResetConsumerToSequence of a consumer
//	obj-put, obj-get, obj-link  the object store (ADR-20)
//	bench-obj      the nats.go peer of bench/run_objects.sh
//
// Every result is one JSON object per line on stdout, so that a test can
// read it without parsing prose; failures go to stderr and exit 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type command struct {
	run   func(ctx context.Context, js jetstream.JetStream, args []string) error
	usage string
}

var commands = map[string]command{
	"publish":        {runPublish, "create the stream ORDERS and publish orders"},
	"consume":        {runConsume, "consume orders with the durable order-processor"},
	"consumer-info":  {runConsumerInfo, "print the state of order-processor"},
	"kv-put":         {runKVPut, "create the bucket service-config and put a config"},
	"kv-get":         {runKVGet, "print the latest entry of a key"},
	"kv-update":      {runKVUpdate, "put a config only if the key is at -revision"},
	"kv-watch":       {runKVWatch, "watch a key and print its entries"},
	"group-pull":     {runGroupPull, "pull a priority group until N messages"},
	"group-peer":     {runGroupPeer, "a priority-group puller driven on stdin"},
	"micro-serve":    {runMicroServe, "run the micro service go-echo until stdin closes"},
	"micro-discover": {runMicroDiscover, "ping, info or stats of micro services"},
	"bench-js-async": {runBenchJSAsync, "publish N messages with PublishAsync, print a RESULT line"},
	"schedule":       {runSchedule, "publish a message schedule (ADR-51)"},
	"consumer-reset": {runConsumerReset, "reset a consumer's delivery (2.14)"},
	"obj-put":        {runObjPut, "put a file into an object store bucket"},
	"obj-get":        {runObjGet, "get an object's bytes into a file"},
	"obj-link":       {runObjLink, "link to an object"},
	"bench-obj":      {runBenchObj, "put and get one large object, print RESULT lines"},
}

func main() {
	server := flag.String("server", os.Getenv("NATS_URL"),
		"server URL (default $NATS_URL, else "+nats.DefaultURL+")")
	timeout := flag.Duration("timeout", 20*time.Second,
		"give up after this long")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: gointerop [-server URL] [-timeout D] COMMAND [flags]\n")
		for name, c := range commands {
			fmt.Fprintf(os.Stderr, "  %-14s %s\n", name, c.usage)
		}
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	cmd, ok := commands[flag.Arg(0)]
	if !ok {
		fmt.Fprintf(os.Stderr, "gointerop: unknown command %q\n", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}
	if *server == "" {
		*server = nats.DefaultURL
	}
	if err := connectAndRun(*server, *timeout, cmd, flag.Args()[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "gointerop %s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
}

func connectAndRun(server string, timeout time.Duration, cmd command,
	args []string) error {
	nc, err := nats.Connect(server, nats.Name("gointerop"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// Drain, not Close: acks and puts still buffered reach the server
	// before the program exits.
	defer nc.Drain()

	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream context: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return cmd.run(ctx, js, args)
}

// emit prints one result line: v as compact JSON.
func emit(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the types defined here are printed
	}
	fmt.Println(string(line))
}

// parseFlags parses a command's own flags; -h prints them and exits.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	return nil
}
