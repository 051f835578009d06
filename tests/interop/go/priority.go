package main

// Priority groups (ADR-42) from the nats.go side: a pull consumer with
// priority_groups shared with jetwire, pulled with a group and, for the
// overflow policy, min_pending / min_ack_pending, for the prioritized
// policy a priority. nats.go keeps the pin id of a pinned_client group
// per consumer object: it takes it from a message's Nats-Pin-Id header,
// sends it with its next pulls and forgets it on a 423 (pin ID mismatch).
//
//	group-pull   pulls until -count messages or -pulls fetches, then leaves
//	group-peer   one consumer object driven by JSON requests on stdin, so
//	             that a test can interleave its pulls with jetwire's

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// pullSpec is one fetch: the request's options. Zero values are left out
// of the request, as nats.go leaves them out.
type pullSpec struct {
	Batch         int     `json:"batch"`
	MaxWait       float64 `json:"max_wait"` // seconds
	Group         string  `json:"group"`
	MinPending    int64   `json:"min_pending"`
	MinAckPending int64   `json:"min_ack_pending"`
	Priority      *int    `json:"priority"` // nil: not sent
	Ack           *bool   `json:"ack"`      // nil: true
}

// pulled is one message as the commands print it.
type pulled struct {
	Subject   string `json:"subject"`
	Data      string `json:"data"`
	Seq       uint64 `json:"seq"`
	Delivered uint64 `json:"delivered"`
	Pending   uint64 `json:"pending"`
	PinID     string `json:"pin_id"`
	Acked     bool   `json:"acked"`
}

// fetchOnce sends one pull request and takes what it brings, acking each
// message (waiting for the server's confirmation) unless spec.Ack is
// false: then it goes to held (by stream sequence), if given. A refused or cut-short pull is not an error of the program: it
// is pullErr (a 423 is jetstream.ErrPinIDMismatch, after which nats.go
// pulls without a pin id). err is for what the program cannot go on after.
func fetchOnce(ctx context.Context, cons jetstream.Consumer, spec pullSpec,
	held map[uint64]jetstream.Msg) (msgs []pulled, pullErr, err error) {
	if spec.Batch < 1 {
		spec.Batch = 1
	}
	wait := time.Duration(spec.MaxWait * float64(time.Second))
	if wait <= 0 {
		wait = 5 * time.Second
	}
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(wait)}
	if spec.Group != "" {
		opts = append(opts, jetstream.FetchPriorityGroup(spec.Group))
	}
	if spec.MinPending > 0 {
		opts = append(opts, jetstream.FetchMinPending(spec.MinPending))
	}
	if spec.MinAckPending > 0 {
		opts = append(opts, jetstream.FetchMinAckPending(spec.MinAckPending))
	}
	if spec.Priority != nil {
		opts = append(opts, jetstream.FetchPrioritized(uint8(*spec.Priority)))
	}
	batch, ferr := cons.Fetch(spec.Batch, opts...)
	if ferr != nil {
		return nil, ferr, nil
	}
	msgs = []pulled{}
	for msg := range batch.Messages() {
		meta, merr := msg.Metadata()
		if merr != nil {
			return msgs, nil, fmt.Errorf("metadata: %w", merr)
		}
		p := pulled{
			Subject: msg.Subject(), Data: string(msg.Data()),
			Seq: meta.Sequence.Stream, Delivered: meta.NumDelivered,
			Pending: meta.NumPending,
			PinID:   msg.Headers().Get("Nats-Pin-Id"),
		}
		if spec.Ack == nil || *spec.Ack {
			if aerr := msg.DoubleAck(ctx); aerr != nil {
				return msgs, nil, fmt.Errorf("ack of %d: %w", p.Seq, aerr)
			}
			p.Acked = true
		} else if held != nil {
			held[p.Seq] = msg
		}
		msgs = append(msgs, p)
	}
	if berr := batch.Error(); berr != nil &&
		!errors.Is(berr, jetstream.ErrNoMessages) &&
		!errors.Is(berr, context.DeadlineExceeded) {
		pullErr = berr
	}
	return msgs, pullErr, nil
}

// consumerFlags name the consumer and, with -create, make it.
type consumerFlags struct {
	stream, consumer, create, groups *string
	priorityTimeout                  *time.Duration
}

func newConsumerFlags(fs *flag.FlagSet) consumerFlags {
	return consumerFlags{
		stream:   fs.String("stream", streamName, "the stream"),
		consumer: fs.String("consumer", "", "the durable pull consumer (required)"),
		create: fs.String("create", "",
			"create or update the consumer first with this priority_policy: "+
				"overflow, pinned_client or prioritized (empty: it exists)"),
		groups: fs.String("groups", "jobs", "with -create: its priority group"),
		priorityTimeout: fs.Duration("priority-timeout", 2*time.Second,
			"with -create pinned_client: its priority_timeout"),
	}
}

var priorityPolicies = map[string]jetstream.PriorityPolicy{
	"overflow":      jetstream.PriorityPolicyOverflow,
	"pinned_client": jetstream.PriorityPolicyPinned,
	"prioritized":   jetstream.PriorityPolicyPrioritized,
}

// open returns the stream and the consumer, created first with -create.
func (f consumerFlags) open(ctx context.Context,
	js jetstream.JetStream) (jetstream.Stream, jetstream.Consumer, error) {
	if *f.consumer == "" {
		return nil, nil, errors.New("-consumer is required")
	}
	stream, err := js.Stream(ctx, *f.stream)
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", *f.stream, err)
	}
	if *f.create == "" {
		cons, err := stream.Consumer(ctx, *f.consumer)
		if err != nil {
			return nil, nil, fmt.Errorf("consumer %s: %w", *f.consumer, err)
		}
		return stream, cons, nil
	}
	policy, ok := priorityPolicies[*f.create]
	if !ok {
		return nil, nil, fmt.Errorf("-create %q: not a priority policy", *f.create)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:        *f.consumer,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		PriorityPolicy: policy,
		PriorityGroups: []string{*f.groups},
	}
	if policy == jetstream.PriorityPolicyPinned {
		cfg.PinnedTTL = *f.priorityTimeout
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create consumer %s: %w", *f.consumer, err)
	}
	return stream, cons, nil
}

// runGroupPull pulls from a priority group until it has -count messages
// or made -pulls fetches, and leaves: a client that stops pulling. It
// prints each message, then {"op":"done"}; a pull refused for another
// reason than a lost pin ends it with exit status 1.
func runGroupPull(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("group-pull", flag.ExitOnError)
	cf := newConsumerFlags(fs)
	group := fs.String("group", "jobs", "the priority group to pull as (empty: none)")
	batch := fs.Int("batch", 1, "messages asked for per fetch")
	maxWait := fs.Duration("max-wait", time.Second, "how long each fetch waits")
	minPending := fs.Int64("min-pending", 0, "overflow: min_pending (0: not sent)")
	minAckPending := fs.Int64("min-ack-pending", 0, "overflow: min_ack_pending (0: not sent)")
	priority := fs.Int("priority", -1, "prioritized: 0 (first) to 9 (-1: not sent)")
	count := fs.Int("count", 0, "leave after this many messages (0: no limit)")
	pulls := fs.Int("pulls", 0, "leave after this many fetches (0: no limit)")
	noAck := fs.Bool("no-ack", false, "leave the messages unacknowledged")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *count <= 0 && *pulls <= 0 {
		return errors.New("give -count or -pulls")
	}
	_, cons, err := cf.open(ctx, js)
	if err != nil {
		return err
	}
	ack := !*noAck
	spec := pullSpec{Batch: *batch, MaxWait: maxWait.Seconds(), Group: *group,
		MinPending: *minPending, MinAckPending: *minAckPending, Ack: &ack}
	if *priority >= 0 {
		spec.Priority = priority
	}
	got := 0
	for n := 0; *pulls <= 0 || n < *pulls; n++ {
		if *count > 0 && got >= *count {
			break
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%d messages in %d fetches: %w", got, n, err)
		}
		if *count > 0 {
			spec.Batch = min(*batch, *count-got)
		}
		msgs, pullErr, err := fetchOnce(ctx, cons, spec, nil)
		for _, m := range msgs {
			emit(map[string]any{"op": "msg", "msg": m})
		}
		got += len(msgs)
		if err != nil {
			return err
		}
		if pullErr != nil && !errors.Is(pullErr, jetstream.ErrPinIDMismatch) {
			return fmt.Errorf("fetch: %w", pullErr)
		}
	}
	emit(map[string]any{"op": "done", "received": got})
	return nil
}

// peerRequest is one line of group-peer's input.
type peerRequest struct {
	Op       string `json:"op"` // fetch, unpin, info, quit
	pullSpec        // a fetch's options; unpin takes its group
}

// runGroupPeer holds one nats.go consumer object (and so one pin id) and
// answers JSON requests on stdin, one line each, in order:
//
//	{"op":"fetch","batch":2,"max_wait":0.5,"group":"jobs",
//	 "min_pending":0,"min_ack_pending":0,"priority":null,"ack":true}
//	    -> {"op":"fetched","msgs":[{subject,data,seq,delivered,pending,pin_id,acked}],"error":null|"..."}
//	{"op":"ack"}                    -> {"op":"acked","seqs":[...]}: acks what
//	                                   fetches with "ack":false kept
//	{"op":"unpin","group":"jobs"}   -> {"op":"unpinned","error":null|"..."}
//	{"op":"info"}                   -> {"op":"info",...,"priority_groups":[{group,pinned_client_id}]}
//	{"op":"quit"}                   -> {"op":"bye"}, exit 0 (also at end of input)
//
// It prints {"op":"ready"} once the consumer is bound (or created).
func runGroupPeer(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("group-peer", flag.ExitOnError)
	cf := newConsumerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	stream, cons, err := cf.open(ctx, js)
	if err != nil {
		return err
	}
	held := map[uint64]jetstream.Msg{} // fetched with "ack": false
	emit(map[string]any{"op": "ready", "consumer": cons.CachedInfo().Name})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		var req peerRequest
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return fmt.Errorf("request %q: %w", in.Text(), err)
		}
		switch req.Op {
		case "fetch":
			msgs, pullErr, err := fetchOnce(ctx, cons, req.pullSpec, held)
			if err != nil {
				return err
			}
			emit(map[string]any{"op": "fetched", "msgs": msgs,
				"error": nullableErr(pullErr)})
		case "ack":
			seqs := make([]uint64, 0, len(held))
			for seq := range held {
				seqs = append(seqs, seq)
			}
			slices.Sort(seqs)
			for _, seq := range seqs {
				if err := held[seq].DoubleAck(ctx); err != nil {
					return fmt.Errorf("ack of %d: %w", seq, err)
				}
				delete(held, seq)
			}
			emit(map[string]any{"op": "acked", "seqs": seqs})
		case "unpin":
			err := stream.UnpinConsumer(ctx, *cf.consumer, req.pullSpec.Group)
			emit(map[string]any{"op": "unpinned", "error": nullableErr(err)})
		case "info":
			info, err := cons.Info(ctx)
			if err != nil {
				return fmt.Errorf("consumer info: %w", err)
			}
			groups := []map[string]any{}
			for _, g := range info.PriorityGroups {
				groups = append(groups, map[string]any{
					"group": g.Group, "pinned_client_id": g.PinnedClientID})
			}
			emit(map[string]any{
				"op":                   "info",
				"num_pending":          info.NumPending,
				"num_ack_pending":      info.NumAckPending,
				"num_redelivered":      info.NumRedelivered,
				"delivered_stream_seq": info.Delivered.Stream,
				"ack_floor_stream_seq": info.AckFloor.Stream,
				"priority_groups":      groups,
			})
		case "quit":
			emit(map[string]any{"op": "bye"})
			return nil
		default:
			return fmt.Errorf("unknown op %q", req.Op)
		}
	}
	return in.Err()
}

func nullableErr(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}
