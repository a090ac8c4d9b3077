package natsx

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishMsg publishes data to subject on JetStream with Nats-Msg-Id set to
// id, so that publishing the same message again (an outbox relay retrying
// after a crash) within DuplicateWindow is stored once. It reports whether
// the server recognised the message as a duplicate, which callers treat as
// success: the message is in the stream either way.
//
// headers are added as they are (NATS header keys are case-sensitive); a
// Nats-Msg-Id among them is overwritten by id. An empty id is refused
// because it would silently turn deduplication off.
func PublishMsg(ctx context.Context, js jetstream.JetStream, subject, id string, data []byte, headers map[string]string) (duplicate bool, err error) {
	if id == "" {
		return false, errors.New("natsx: publish to " + subject + ": empty message id")
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	for k, v := range headers {
		msg.Header.Set(k, v)
	}
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
	if err != nil {
		return false, fmt.Errorf("natsx: publish to %s (msg id %s): %w", subject, id, err)
	}
	return ack.Duplicate, nil
}
