package telegram

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Update is what the linking flow needs from one Telegram update: who wrote
// what in which chat, and whether the bot lost access to a chat.
type Update struct {
	// ID is Telegram's update_id.
	ID int64
	// ChatID is the chat to link, reply to or deactivate. Zero for updates
	// this package does not read (edited messages, callbacks, ...).
	ChatID int64
	// ChatType is "private", "group", "supergroup" or "channel".
	ChatType string
	// Text is the message text, e.g. "/start <token>".
	Text string

	FromID        int64
	FromUsername  string // without the @; may be empty
	FromName      string // first and last name
	FromLanguage  string // IETF language tag of the user's client, may be empty
	MigrateToChat int64  // set on the service message sent when a group becomes a supergroup

	// Blocked is set when the bot lost access to ChatID: the user blocked
	// it, or it was removed from the group (a my_chat_member update).
	Blocked bool

	// CallbackID and CallbackData are set when the user pressed a button
	// of a message sent with Ask (a callback_query update); ChatID is then
	// the chat of that message and From* the user who pressed it.
	CallbackID   string
	CallbackData string
}

// allowedUpdates are the update types Poll and SetWebhook ask for.
var allowedUpdates = []string{"message", "my_chat_member", "callback_query"}

// ParseStart reads a /start command, as sent when a user opens
// https://t.me/<bot>?start=<token> and presses Start. It accepts
// "/start@botname <token>" too, as sent in groups. ok is false if text is
// not a /start command; token is empty for a plain "/start".
func ParseStart(text string) (token string, ok bool) {
	name, args := command(text)
	if name != "start" {
		return "", false
	}
	token, _, _ = strings.Cut(args, " ")
	return token, true
}

// IsStop reports whether text is a /stop command (also "/stop@botname"),
// by which a user asks to unlink the chat.
func IsStop(text string) bool {
	name, _ := command(text)
	return name == "stop"
}

// command splits "/name@bot args" into the lower-case name and the
// arguments with spaces normalised. name is empty if text is no command.
func command(text string) (name, args string) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", ""
	}
	word, rest := text, ""
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		word, rest = text[:i], text[i:]
	}
	name, _, _ = strings.Cut(word[1:], "@")
	return strings.ToLower(name), strings.Join(strings.Fields(rest), " ")
}

// ErrBadSecret means a webhook request did not carry the expected
// X-Telegram-Bot-Api-Secret-Token, so it did not come from Telegram.
var ErrBadSecret = errors.New("telegram: webhook secret token is missing or wrong")

// maxUpdateSize caps what ParseWebhook reads; real updates are a few KB.
const maxUpdateSize = 1 << 20

// ParseWebhook authenticates and decodes a webhook request from Telegram.
// secret is the value given to SetWebhook; it is compared in constant time.
// An empty secret rejects every request: without one anybody could post
// fake /start commands and link chats to other people's accounts.
func ParseWebhook(r *http.Request, secret string) (Update, error) {
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
		return Update{}, ErrBadSecret
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxUpdateSize))
	if err != nil {
		return Update{}, fmt.Errorf("telegram: read webhook body: %w", err)
	}
	return decodeUpdate(body)
}

// rawUpdate is the subset of Telegram's Update object we read. It is
// decoded by hand rather than with the library's models so that unknown or
// unusual update kinds cannot fail decoding.
type rawUpdate struct {
	UpdateID int64       `json:"update_id"`
	Message  *rawMessage `json:"message"`
	MyMember *struct {
		Chat      rawChat `json:"chat"`
		From      rawUser `json:"from"`
		NewMember struct {
			Status string `json:"status"`
		} `json:"new_chat_member"`
	} `json:"my_chat_member"`
	Callback *struct {
		ID      string      `json:"id"`
		From    rawUser     `json:"from"`
		Message *rawMessage `json:"message"`
		Data    string      `json:"data"`
	} `json:"callback_query"`
}

type rawMessage struct {
	Chat            rawChat  `json:"chat"`
	From            *rawUser `json:"from"`
	Text            string   `json:"text"`
	MigrateToChatID int64    `json:"migrate_to_chat_id"`
}

type rawChat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type rawUser struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	LanguageCode string `json:"language_code"`
}

func (u rawUser) name() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

func decodeUpdate(data []byte) (Update, error) {
	var raw rawUpdate
	if err := json.Unmarshal(data, &raw); err != nil {
		return Update{}, fmt.Errorf("telegram: decode update: %w", err)
	}
	u := Update{ID: raw.UpdateID}
	switch {
	case raw.Message != nil:
		m := raw.Message
		u.ChatID, u.ChatType, u.Text, u.MigrateToChat = m.Chat.ID, m.Chat.Type, m.Text, m.MigrateToChatID
		if m.From != nil {
			u.FromID, u.FromUsername, u.FromName, u.FromLanguage = m.From.ID, m.From.Username, m.From.name(), m.From.LanguageCode
		}
	case raw.MyMember != nil:
		m := raw.MyMember
		u.ChatID, u.ChatType = m.Chat.ID, m.Chat.Type
		u.FromID, u.FromUsername, u.FromName, u.FromLanguage = m.From.ID, m.From.Username, m.From.name(), m.From.LanguageCode
		u.Blocked = m.NewMember.Status == "kicked" || m.NewMember.Status == "left"
	case raw.Callback != nil:
		cb := raw.Callback
		u.CallbackID, u.CallbackData = cb.ID, cb.Data
		if cb.Message != nil {
			u.ChatID, u.ChatType = cb.Message.Chat.ID, cb.Message.Chat.Type
		}
		u.FromID, u.FromUsername, u.FromName, u.FromLanguage = cb.From.ID, cb.From.Username, cb.From.name(), cb.From.LanguageCode
	}
	return u, nil
}

// Poll receives updates by long polling (getUpdates) and calls handle for
// each, one at a time and in order, until ctx is done; then it returns
// ctx.Err(). Failed calls are reported to Config.OnPollError and retried
// with growing pauses. Telegram refuses getUpdates while a webhook is set
// (see DeleteWebhook), and only one poller per bot may run at a time.
//
// Updates are confirmed to Telegram by the next getUpdates call, so an
// update whose handler was running when the process stopped comes again.
func (c *Channel) Poll(ctx context.Context, handle func(ctx context.Context, u Update)) error {
	if c.bot == nil {
		return ErrNotConfigured
	}
	var offset int64
	var backoff time.Duration
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, retryAfter, err := c.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.onPollError(err)
			backoff = nextBackoff(backoff)
			if err := sleep(ctx, max(backoff, retryAfter)); err != nil {
				return err
			}
			continue
		}
		backoff = 0
		for _, raw := range batch {
			u, err := decodeUpdate(raw)
			if err != nil {
				// Skip it rather than fetch it forever.
				var id struct {
					UpdateID int64 `json:"update_id"`
				}
				_ = json.Unmarshal(raw, &id)
				u = Update{ID: id.UpdateID}
				c.onPollError(err)
			}
			offset = max(offset, u.ID+1)
			if err == nil {
				handle(ctx, u)
			}
		}
	}
}

// nextBackoff doubles the pause after each failed poll: 0.5 s up to 30 s.
func nextBackoff(d time.Duration) time.Duration {
	const first, limit = 500 * time.Millisecond, 30 * time.Second
	if d <= 0 {
		return first
	}
	return min(2*d, limit)
}

// longPollWait is how long getUpdates may hold the request open: 25 s, but
// 5 s under the HTTP client's timeout so that a quiet poll ends with an empty
// answer rather than a client timeout.
func longPollWait(clientTimeout time.Duration) time.Duration {
	wait := 25 * time.Second
	if clientTimeout > 0 {
		wait = min(wait, clientTimeout-5*time.Second)
	}
	return max(wait, 0)
}

// getUpdates is a hand-written call rather than the library's poller: the
// library's loop runs its own handlers and goroutines, while Poll needs to
// hand updates to one function in order and return when ctx is done.
func (c *Channel) getUpdates(ctx context.Context, offset int64) (batch []json.RawMessage, retryAfter time.Duration, err error) {
	body, err := json.Marshal(map[string]any{
		"offset":          offset,
		"timeout":         int(c.pollWait / time.Second),
		"allowed_updates": allowedUpdates,
	})
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"/bot"+c.token+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("telegram: getUpdates: %w", c.redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("telegram: getUpdates: %w", c.redact(err))
	}
	defer resp.Body.Close()
	var answer struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, 0, fmt.Errorf("telegram: getUpdates: HTTP %d: decode answer: %w", resp.StatusCode, err)
	}
	if !answer.OK {
		return nil, time.Duration(answer.Parameters.RetryAfter) * time.Second,
			fmt.Errorf("telegram: getUpdates: %d %s", answer.ErrorCode, answer.Description)
	}
	return answer.Result, 0, nil
}

// redact removes the bot token from errors that quote the request URL.
func (c *Channel) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = strings.ReplaceAll(ue.URL, c.token, "<token>")
	}
	return err
}
