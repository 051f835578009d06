package main

// Services (ADR-32) with nats.go's micro package: a service with two
// endpoints for jetwire to call and discover, and discovery of services
// (jetwire's or nats.go's) with nats.go's own Ping, Info and Stats types.
//
//	micro-serve     go-echo: go.echo echoes, math.add adds; runs until
//	                stdin closes or SIGTERM/SIGINT
//	micro-discover  $SRV.<VERB>[.name[.id]], one line per reply

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
)

// runMicroServe runs the service until stdin closes or a SIGTERM/SIGINT,
// not until -timeout: a test keeps it as long as it needs, and its end
// (closing stdin) also ends the service. It prints {"op":"ready",...}
// once the service answers, {"op":"stopped"} after Stop.
func runMicroServe(_ context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("micro-serve", flag.ExitOnError)
	name := fs.String("name", "go-echo", "the service name")
	version := fs.String("version", "1.0.0", "the service version")
	queue := fs.String("queue-group", micro.DefaultQueueGroup, "the endpoints' queue group")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	svc, err := micro.AddService(js.Conn(), micro.Config{
		Name:        *name,
		Version:     *version,
		Description: "nats.go echo",
		Metadata:    map[string]string{"lang": "go"},
		QueueGroup:  *queue,
	})
	if err != nil {
		return fmt.Errorf("add service: %w", err)
	}
	echo := func(req micro.Request) { req.Respond(req.Data()) }
	if err := svc.AddEndpoint("echo", micro.HandlerFunc(echo),
		micro.WithEndpointSubject("go.echo")); err != nil {
		return fmt.Errorf("endpoint echo: %w", err)
	}
	if err := svc.AddGroup("math").AddEndpoint("add", micro.HandlerFunc(add)); err != nil {
		return fmt.Errorf("endpoint math.add: %w", err)
	}
	// The subscriptions are in place once the server has seen them.
	if err := js.Conn().Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	info := svc.Info()
	emit(map[string]any{"op": "ready", "id": info.ID, "name": info.Name,
		"version": info.Version})

	done, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-done.Done()
	if err := svc.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	emit(map[string]any{"op": "stopped"})
	return nil
}

// add answers {"a":A,"b":B} with {"sum":A+B}, anything else with a 400.
func add(req micro.Request) {
	var in struct{ A, B int }
	if err := json.Unmarshal(req.Data(), &in); err != nil {
		req.Error("400", "bad input", nil)
		return
	}
	req.RespondJSON(map[string]int{"sum": in.A + in.B})
}

var microVerbs = map[string]struct {
	verb  micro.Verb
	reply func() any // a new value to unmarshal a reply into
}{
	"ping":  {micro.PingVerb, func() any { return new(micro.Ping) }},
	"info":  {micro.InfoVerb, func() any { return new(micro.Info) }},
	"stats": {micro.StatsVerb, func() any { return new(micro.Stats) }},
}

// runMicroDiscover sends one request to the verb's control subject and
// prints each reply as nats.go's type for it, re-marshalled, or
// {"op":"bad",...} when it does not unmarshal; then
// {"op":"done","count":N} (N counts both). nats.go v1.56.0's micro has
// no client side, so this is what `nats micro` does: one request on an
// inbox, replies gathered until -timeout-ms or -max.
func runMicroDiscover(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("micro-discover", flag.ExitOnError)
	verbName := fs.String("verb", "", "ping, info or stats (required)")
	name := fs.String("name", "", "only services of this name")
	id := fs.String("id", "", "only the service with this id (needs -name)")
	wait := fs.Int("timeout-ms", 1000, "how long to gather replies")
	maxReplies := fs.Int("max", 0, "stop after this many replies (0: no limit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v, ok := microVerbs[*verbName]
	if !ok {
		return fmt.Errorf("-verb %q: not ping, info or stats", *verbName)
	}
	subject, err := micro.ControlSubject(v.verb, *name, *id)
	if err != nil {
		return err
	}
	nc := js.Conn()
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return fmt.Errorf("request %s: %w", subject, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(*wait)*time.Millisecond)
	defer cancel()
	count := 0
	for *maxReplies <= 0 || count < *maxReplies {
		msg, err := sub.NextMsgWithContext(ctx)
		// ErrNoResponders: the server's 503, the only reply when no
		// service listens.
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d replies: %w", count, err)
		}
		count++
		reply := v.reply()
		if err := json.Unmarshal(msg.Data, reply); err != nil {
			emit(map[string]any{"op": "bad", "error": err.Error(), "raw": string(msg.Data)})
			continue
		}
		emit(reply)
	}
	emit(map[string]any{"op": "done", "count": count})
	return nil
}
