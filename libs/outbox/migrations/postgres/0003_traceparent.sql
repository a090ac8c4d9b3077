-- The W3C traceparent of the call that wrote the event (NULL when tracing
-- was off), so the relay, publishing later, continues that trace in the
-- message's headers.
ALTER TABLE outbox_events ADD COLUMN traceparent TEXT;
