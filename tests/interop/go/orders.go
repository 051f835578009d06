package main

// The tutorial's order flow on JetStream: the stream ORDERS over orders.>,
// orders published to orders.created with acknowledgments, and the
// durable pull consumer order-processor with explicit acks.

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
	streamName   = "ORDERS"
	orderSubject = "orders.created"
	durableName  = "order-processor"
)

// Order is the tutorial's order.
type Order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
	Status string  `json:"status"`
}

// ordersStream is the tutorial's stream: on disk, 24 hours, at most
// 100000 orders.
var ordersStream = jetstream.StreamConfig{
	Name:        streamName,
	Description: "Order events stream",
	Subjects:    []string{"orders.>"},
	Storage:     jetstream.FileStorage,
	Retention:   jetstream.LimitsPolicy,
	MaxAge:      24 * time.Hour,
	MaxMsgs:     100000,
	Replicas:    1,
}

// orderProcessor is the tutorial's durable consumer.
var orderProcessor = jetstream.ConsumerConfig{
	Durable:       durableName,
	AckPolicy:     jetstream.AckExplicitPolicy,
	DeliverPolicy: jetstream.DeliverAllPolicy,
	AckWait:       30 * time.Second,
	MaxDeliver:    3,
	FilterSubject: orderSubject,
}

func runPublish(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	count := fs.Int("count", 5, "orders to publish: ORD-1 ... ORD-count")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := js.CreateOrUpdateStream(ctx, ordersStream); err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	for i := 1; i <= *count; i++ {
		order := Order{
			ID:     fmt.Sprintf("ORD-%d", i),
			Amount: float64(i) * 25.50,
			Status: "pending",
		}
		data, err := json.Marshal(order)
		if err != nil {
			return err
		}
		ack, err := js.Publish(ctx, orderSubject, data)
		if err != nil {
			return fmt.Errorf("publish %s: %w", order.ID, err)
		}
		emit(map[string]any{
			"id": order.ID, "subject": orderSubject, "data": string(data),
			"stream": ack.Stream, "seq": ack.Sequence,
		})
	}
	return nil
}

// runConsume fetches exactly -count orders, acks each and prints it.
// It fetches rather than using Consume because Consume asks the server
// for messages ahead of need: those would sit unacked with this process
// gone until the ack wait (30 s) passed, while the next processor, in
// another language, waits for them.
func runConsume(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("consume", flag.ExitOnError)
	count := fs.Int("count", 5, "orders to process before leaving")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, orderProcessor)
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}
	for processed := 0; processed < *count; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%d of %d orders: %w", processed, *count, err)
		}
		batch, err := cons.Fetch(*count-processed,
			jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		for msg := range batch.Messages() {
			if err := processOrder(ctx, msg); err != nil {
				return err
			}
			processed++
		}
		if err := batch.Error(); err != nil &&
			!errors.Is(err, jetstream.ErrNoMessages) &&
			!errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("fetch: %w", err)
		}
	}
	return nil
}

// processOrder acks an order that parses and prints it; it naks one that
// does not, so that it comes back (up to MaxDeliver times).
func processOrder(ctx context.Context, msg jetstream.Msg) error {
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	var order Order
	if err := json.Unmarshal(msg.Data(), &order); err != nil {
		emit(map[string]any{"subject": msg.Subject(), "data": string(msg.Data()),
			"seq": meta.Sequence.Stream, "error": err.Error()})
		return msg.Nak()
	}
	// Waits for the server to confirm the ack, so that whoever looks at
	// the consumer after this process sees the order acked.
	if err := msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("ack %s: %w", order.ID, err)
	}
	emit(map[string]any{
		"subject": msg.Subject(), "data": string(msg.Data()), "order": order,
		"seq": meta.Sequence.Stream, "delivered": meta.NumDelivered,
	})
	return nil
}

func runConsumerInfo(ctx context.Context, js jetstream.JetStream, args []string) error {
	fs := flag.NewFlagSet("consumer-info", flag.ExitOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cons, err := js.Consumer(ctx, streamName, durableName)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("consumer info: %w", err)
	}
	emit(map[string]any{
		"name":                 info.Name,
		"delivered_stream_seq": info.Delivered.Stream,
		"ack_floor_stream_seq": info.AckFloor.Stream,
		"num_ack_pending":      info.NumAckPending,
		"num_redelivered":      info.NumRedelivered,
		"num_pending":          info.NumPending,
	})
	return nil
}
