package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// Event is what one webhook delivery says. channels.Message carries what a
// person reads; a receiving system also needs the event's type and the
// record it is about, which the caller supplies through Config.Event.
type Event struct {
	// Type is the template key, e.g. "order.shipped". It becomes the
	// payload's "type" and is required: receivers route on it.
	Type string

	// Time is when the event happened, the payload's "timestamp". It stays
	// the same across retries (unlike the webhook-timestamp header, which is
	// the attempt's). Zero means the time of the attempt.
	Time time.Time

	// MessageID is the outbox message id: the webhook-id header and
	// data.message. Receivers deduplicate retries on it. Required.
	MessageID string

	// UserID is the recipient's user id, data.user.
	UserID string

	// Record is the record the event is about, data.record. Fill it with
	// chosen fields, never a whole auth record (password hash, token key).
	// Nil is sent as null.
	Record map[string]any

	// Subject, Text and URL are the rendered message, data.subject,
	// data.text and data.url.
	Subject string
	Text    string
	URL     string
}

// EventFrom is the one place that reads an Event out of a channels.Message:
// MessageID from ID, UserID from UserID, Subject and Text from the email
// parts, URL from PushURL. Message has no template key or record yet, so
// Type, Time and Record stay empty; Config.Event fills them.
func EventFrom(m *channels.Message) Event {
	return Event{
		Type:      m.Key,
		MessageID: m.ID,
		UserID:    m.UserID,
		Record:    m.Record,
		Subject:   m.Subject,
		Text:      m.Text,
		URL:       m.PushURL,
	}
}

// Payload is the JSON body of every delivery. Its field names are a
// contract with the shop's receivers: never rename them.
type Payload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"` // RFC 3339 in UTC, e.g. "2026-03-01T10:04:05.123Z"
	Data      Data   `json:"data"`
}

// Data is the payload's "data" object.
type Data struct {
	Message string         `json:"message"`
	User    string         `json:"user"`
	Record  map[string]any `json:"record"`
	Subject string         `json:"subject"`
	Text    string         `json:"text"`
	URL     string         `json:"url"`
}

// payload builds the body for ev. It is built once per attempt and the
// signature covers exactly these bytes.
func payload(ev Event, now time.Time) ([]byte, error) {
	at := ev.Time
	if at.IsZero() {
		at = now
	}
	body, err := json.Marshal(Payload{
		Type:      ev.Type,
		Timestamp: at.UTC().Format(time.RFC3339Nano),
		Data: Data{
			Message: ev.MessageID,
			User:    ev.UserID,
			Record:  ev.Record,
			Subject: ev.Subject,
			Text:    ev.Text,
			URL:     ev.URL,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: encoding the payload: %w", err)
	}
	return body, nil
}
