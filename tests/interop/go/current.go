package main

// What nats.go v1.56.0 has of current servers' JetStream (issue 21): it
// publishes message schedules (ADR-51) and resets consumers (2.14), on
// streams and consumers jetwire made, so that the tests see each side
// read the other's.
//
//	schedule        publish a schedule with nats.go's publish options
//	consumer-reset  ResetConsumer / ResetConsumerToSequence

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func runSchedule(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("schedule", flag.ExitOnError)
	subject := fs.String("subject", "", "the schedule's own subject")
	target := fs.String("target", "", "the subject it publishes to")
	data := fs.String("data", "", "the body")
	every := fs.Duration("every", 0, "publish every so long (else -at)")
	at := fs.Duration("at", time.Second, "publish once, so long from now")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := []jetstream.PublishOpt{jetstream.WithScheduleTarget(*target)}
	if *every > 0 {
		opts = append(opts, jetstream.WithScheduleEvery(*every))
	} else {
		opts = append(opts, jetstream.WithScheduleAt(time.Now().Add(*at)))
	}
	ack, err := js.Publish(ctx, *subject, []byte(*data), opts...)
	if err != nil {
		return fmt.Errorf("publish the schedule: %w", err)
	}
	emit(map[string]any{"op": "scheduled", "stream": ack.Stream,
		"seq": ack.Sequence})
	return nil
}

func runConsumerReset(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("consumer-reset", flag.ExitOnError)
	stream := fs.String("stream", "", "the stream")
	consumer := fs.String("consumer", "", "the consumer")
	seq := fs.Uint64("seq", 0, "the sequence to deliver from (0: keep the ack floor)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var resp *jetstream.ConsumerResetResponse
	var err error
	if *seq > 0 {
		resp, err = js.ResetConsumerToSequence(ctx, *stream, *consumer, *seq)
	} else {
		resp, err = js.ResetConsumer(ctx, *stream, *consumer)
	}
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	emit(map[string]any{"op": "reset", "reset_seq": resp.ResetSeq,
		"name":                   resp.Name,
		"delivered_consumer_seq": resp.Delivered.Consumer})
	return nil
}
