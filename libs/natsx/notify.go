package natsx

// NotifySendSubject is the private work-queue subject on which services ask
// the notification service for an e-mail: the payload is a protobuf
// latchkey.notification.v1.SendNotificationRequest and the Nats-Msg-Id is
// its request_id (so JetStream drops a copy inside its duplicate window and
// the notification service, remembering the id, sends nothing twice after
// it). Only the notification service consumes it; link tokens and TOTP keys
// travel here, never on the public event stream. Publish through the
// outbox (outbox.Write(ctx, tx, NotifySendSubject, req.RequestId, req)) so
// a request goes out exactly when the change that needs it commits.
const NotifySendSubject = NotifySubjectPrefix + ".send"
