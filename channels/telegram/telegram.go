// Package telegram delivers notifications through a Telegram bot.
//
// Why a package of its own: the Bot API has rules that are easy to get wrong
// and costly when wrong. Sending too fast earns 429s and, if ignored, longer
// bans; a user who blocked the bot answers 403 forever; a group that became a
// supergroup has a new chat id; a text over 4096 characters is rejected. This
// package turns those into the outcomes the dispatcher understands
// (channels.RetryAfter, channels.Permanent, a plain error to retry) and does
// the bookkeeping itself through the Links interface, so callers only hand it
// rendered messages.
//
// How: New builds the channel from a Config without touching the network.
// Send rate-limits (bot-wide and per chat) without waiting: a message whose
// turn has not come returns channels.RetryAfter with its reserved turn. It
// splits long HTML with Split, sends the parts in order and maps errors. Linking a user to a chat happens
// through updates: Poll (long polling) or ParseWebhook (webhook mode) yield
// Update values, ParseStart reads the deep-link token from "/start <token>",
// Username gives the bot name for https://t.me/<username>?start=<token>, and
// Reply confirms to the user. The package never imports PocketBase; the
// database side implements Links.
//
// Tests use the fake Bot API in package telegramtest.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/pbnotify/pbnotify/channels"
)

// Defaults for Config.
const (
	DefaultAPIURL      = "https://api.telegram.org"
	DefaultHTTPTimeout = 30 * time.Second
	// DefaultGlobalRate is Telegram's documented bot-wide limit.
	DefaultGlobalRate = 30
	// DefaultPerChatRate is Telegram's advice for one chat.
	DefaultPerChatRate = 1
)

// ErrNotConfigured is returned by methods that need the Bot API when
// Config.Token is empty.
var ErrNotConfigured = errors.New("telegram: not configured (NOTIFY_TELEGRAM_TOKEN is not set)")

// Config configures a Channel. The zero value is a channel that is off.
type Config struct {
	// Token is the bot token from @BotFather. Empty turns the channel off:
	// Send skips every message and the other methods return ErrNotConfigured.
	Token string

	// APIURL is the Bot API base URL, without the /bot<token> part.
	// Default: "https://api.telegram.org". Tests point it at telegramtest.
	APIURL string

	// HTTPClient carries every request. Default: a client with a 30 second
	// timeout. Poll keeps its long-poll wait 5 seconds under this timeout.
	HTTPClient *http.Client

	// GlobalRate is how many messages per second may go out over all chats.
	// Default: 30, Telegram's bot-wide limit.
	GlobalRate float64

	// PerChatRate is how many messages per second may go to one chat.
	// Default: 1, Telegram's advice for a single chat.
	PerChatRate float64

	// Links is told when a chat becomes unusable or changes id. Default: a
	// store that does nothing.
	Links Links

	// OnPollError receives every failed getUpdates call in Poll, e.g. to log
	// it. Default: errors are dropped; Poll retries with backoff either way.
	OnPollError func(error)

	// Now is the clock of the rate limits and of the memory of interrupted
	// sends. Default: time.Now. Tests pass a fake clock and move it instead
	// of sleeping.
	Now func() time.Time
}

// Links is the part of the user↔chat link store the channel needs. It is
// implemented over the database elsewhere; the channel calls it from Send.
type Links interface {
	// Deactivate stops using chatID: the user blocked the bot, deleted the
	// account, or the bot was removed from the group.
	Deactivate(ctx context.Context, chatID int64) error
	// Migrate moves links from oldID to newID: a group was upgraded to a
	// supergroup, which has a new id.
	Migrate(ctx context.Context, oldID, newID int64) error
}

type noLinks struct{}

func (noLinks) Deactivate(context.Context, int64) error     { return nil }
func (noLinks) Migrate(context.Context, int64, int64) error { return nil }

// Channel sends notifications through a Telegram bot. It is safe for
// concurrent use; all methods that send share one set of rate limits.
type Channel struct {
	bot         *bot.Bot // nil when the channel is off
	apiURL      string
	token       string
	client      *http.Client
	links       Links
	limits      *limiter
	progress    *progressLog
	pollWait    time.Duration
	onPollError func(error)
	replies     atomic.Uint64 // numbers Reply's turns

	mu       sync.Mutex
	username string // cached by Username
}

var _ channels.Channel = (*Channel)(nil)

// New creates the channel. It makes no network calls, so a wrong token shows
// up on the first send, not at startup.
func New(cfg Config) (*Channel, error) {
	if cfg.GlobalRate < 0 || cfg.PerChatRate < 0 {
		return nil, fmt.Errorf("telegram: rates must not be negative (global %v, per chat %v)", cfg.GlobalRate, cfg.PerChatRate)
	}
	c := &Channel{
		apiURL:      strings.TrimRight(cfg.APIURL, "/"),
		token:       strings.TrimSpace(cfg.Token),
		client:      cfg.HTTPClient,
		links:       cfg.Links,
		onPollError: cfg.OnPollError,
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c.progress = newProgressLog(cfg.Now)
	if c.apiURL == "" {
		c.apiURL = DefaultAPIURL
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.links == nil {
		c.links = noLinks{}
	}
	if c.onPollError == nil {
		c.onPollError = func(error) {}
	}
	c.pollWait = longPollWait(c.client.Timeout)
	c.limits = newLimiter(limits{
		global:  orDefault(cfg.GlobalRate, DefaultGlobalRate),
		perChat: orDefault(cfg.PerChatRate, DefaultPerChatRate),
		now:     cfg.Now,
	})
	if c.token == "" {
		return c, nil
	}
	b, err := bot.New(c.token,
		bot.WithSkipGetMe(),
		bot.WithServerURL(c.apiURL),
		bot.WithHTTPClient(c.pollWait, c.client),
		// Every error reaches the caller through a return value; the
		// library's handler only sees pipe-closing noise, which it would log.
		bot.WithErrorsHandler(func(error) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	c.bot = b
	return c, nil
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// Name returns channels.Telegram.
func (c *Channel) Name() string { return channels.Telegram }

// Send delivers m.Telegram (HTML) to the chat id in m.To, with m.Buttons as
// link buttons under the last part. It returns the first message's id.
//
// Send never waits for the rate limits: it runs on one of the dispatcher's
// few workers, which one busy chat must not hold. When the message cannot go
// now, Send returns channels.RetryAfter with the time until its turn, and the
// message keeps that turn (by m.ID) until it comes back; the k-th message
// waiting for one chat gets a turn about k/PerChatRate seconds out. A turn
// not used within a few minutes of its time is given up.
//
// A text over MaxMessageLength goes out as several messages (see Split), at
// most one part per turn. If a deferral or a retryable error interrupts that,
// the parts already delivered are remembered by m.ID (or, without an ID, by
// the content) for a while, so the retry continues instead of repeating them
// (within this process).
func (c *Channel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if c.bot == nil {
		return "", channels.Skip("Telegram is not configured (NOTIFY_TELEGRAM_TOKEN is not set)")
	}
	if strings.TrimSpace(m.To) == "" {
		return "", channels.Skip("user has not linked Telegram")
	}
	chatID, err := strconv.ParseInt(strings.TrimSpace(m.To), 10, 64)
	if err != nil {
		return "", channels.Permanent(fmt.Errorf("telegram: chat id %q is not a number", m.To))
	}
	parts := Split(m.Telegram, MaxMessageLength)
	if len(parts) == 0 {
		return "", channels.Permanent(errors.New("telegram: the message has no Telegram text"))
	}
	markup := keyboard(m.Buttons)

	key := keyOf(m, parts)
	turn := func(_ context.Context, chatID int64) (func(sent bool), error) {
		release, wait := c.limits.try(key.turnKey(), chatID)
		if release == nil {
			return nil, channels.RetryAfter(wait, fmt.Errorf("telegram: chat %d: waiting for its turn under the rate limits", chatID))
		}
		return release, nil
	}
	done := c.progress.load(key)
	if done.sent > 0 {
		chatID = done.chatID // the chat may have migrated in the earlier attempt
	}
	for i := done.sent; i < len(parts); i++ {
		var partMarkup models.ReplyMarkup
		if i == len(parts)-1 && markup != nil {
			partMarkup = markup
		}
		var msgID int
		msgID, chatID, err = c.send(ctx, turn, chatID, parts[i], partMarkup)
		if err != nil {
			if done.sent > 0 && !channels.IsPermanent(err) {
				c.progress.store(key, done)
			} else {
				c.progress.forget(key)
			}
			return "", err
		}
		if i == 0 {
			done.firstID = strconv.Itoa(msgID)
		}
		done.sent, done.chatID = i+1, chatID
	}
	c.progress.forget(key)
	return done.firstID, nil
}

// Reply sends a short HTML text to chatID, e.g. "Telegram is linked". It
// shares the rate limits and error mapping with Send, but unlike Send it
// waits for its turn (until ctx is done): it answers a user who just wrote
// to the bot, outside the dispatcher, so there is nobody to defer to.
func (c *Channel) Reply(ctx context.Context, chatID int64, text string) error {
	if c.bot == nil {
		return ErrNotConfigured
	}
	key := fmt.Sprintf("reply %d", c.replies.Add(1))
	turn := func(ctx context.Context, chatID int64) (func(sent bool), error) {
		return c.limits.wait(ctx, key, chatID)
	}
	for _, part := range Split(text, MaxMessageLength) {
		var err error
		if _, chatID, err = c.send(ctx, turn, chatID, part, nil); err != nil {
			return err
		}
	}
	return nil
}

// Username returns the bot's username, asking Telegram (getMe) the first
// time and caching it. A failed call is not cached.
func (c *Channel) Username(ctx context.Context) (string, error) {
	if c.bot == nil {
		return "", ErrNotConfigured
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.username != "" {
		return c.username, nil
	}
	me, err := c.bot.GetMe(ctx)
	if err != nil {
		return "", fmt.Errorf("telegram: getMe: %w", err)
	}
	if me.Username == "" {
		return "", errors.New("telegram: getMe returned no username")
	}
	c.username = me.Username
	return c.username, nil
}

// SetWebhook tells Telegram to POST updates to url with secret in the
// X-Telegram-Bot-Api-Secret-Token header (check it with ParseWebhook).
func (c *Channel) SetWebhook(ctx context.Context, url, secret string) error {
	if c.bot == nil {
		return ErrNotConfigured
	}
	_, err := c.bot.SetWebhook(ctx, &bot.SetWebhookParams{URL: url, SecretToken: secret, AllowedUpdates: allowedUpdates})
	if err != nil {
		return fmt.Errorf("telegram: setWebhook: %w", err)
	}
	return nil
}

// DeleteWebhook switches the bot back to getUpdates, which Poll needs:
// Telegram refuses getUpdates while a webhook is set.
func (c *Channel) DeleteWebhook(ctx context.Context) error {
	if c.bot == nil {
		return ErrNotConfigured
	}
	if _, err := c.bot.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); err != nil {
		return fmt.Errorf("telegram: deleteWebhook: %w", err)
	}
	return nil
}

// turnFunc obtains the rate limiters' permission to send to chatID, or the
// error to return instead (a RetryAfter for Send, ctx's error for Reply).
type turnFunc func(ctx context.Context, chatID int64) (release func(sent bool), err error)

// send delivers one message within the rate limits. If Telegram says the
// group moved to a supergroup, it records that through Links and tries once
// more on the new id; the chat id it returns is the one that was used.
func (c *Channel) send(ctx context.Context, turn turnFunc, chatID int64, text string, markup models.ReplyMarkup) (msgID int, usedChat int64, err error) {
	msg, err := c.post(ctx, turn, chatID, text, markup)
	var moved *bot.MigrateError
	if errors.As(err, &moved) && moved.MigrateToChatID != 0 {
		newID := int64(moved.MigrateToChatID)
		if err := c.links.Migrate(ctx, chatID, newID); err != nil {
			return 0, chatID, fmt.Errorf("telegram: chat %d moved to %d and saving the new id failed: %w", chatID, newID, err)
		}
		chatID = newID
		msg, err = c.post(ctx, turn, chatID, text, markup)
	}
	if _, deferred := channels.RetryAfterDelay(err); deferred {
		// The limiter's deferral (the library never returns one): already
		// worded, and not Telegram's answer to classify.
		return 0, chatID, err
	}
	if err != nil {
		return 0, chatID, c.classify(ctx, chatID, err)
	}
	return msg.ID, chatID, nil
}

func (c *Channel) post(ctx context.Context, turn turnFunc, chatID int64, text string, markup models.ReplyMarkup) (*models.Message, error) {
	release, err := turn(ctx, chatID)
	if err != nil {
		return nil, err
	}
	// Counted as sent even if it failed: the request may well have reached
	// Telegram, and the limits are about what Telegram saw.
	defer release(true)
	return c.bot.SendMessage(ctx, &bot.SendMessageParams{
		ChatID:             chatID,
		Text:               text,
		ParseMode:          models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: bot.True()},
		ReplyMarkup:        markup,
	})
}

// classify turns a Bot API error into the outcome the dispatcher acts on.
// The library's errors carry Telegram's description, which is kept.
func (c *Channel) classify(ctx context.Context, chatID int64, err error) error {
	wrapped := fmt.Errorf("telegram: chat %d: %w", chatID, err)
	var tooMany *bot.TooManyRequestsError
	var moved *bot.MigrateError
	switch {
	case errors.As(err, &tooMany):
		d := time.Duration(tooMany.RetryAfter) * time.Second
		if d <= 0 {
			d = time.Second
		}
		c.limits.pause(d)
		return channels.RetryAfter(d, wrapped)
	case errors.Is(err, bot.ErrorForbidden):
		// Blocked, deactivated, kicked: no retry will get through, and
		// neither will later messages, so stop using the chat.
		if derr := c.links.Deactivate(ctx, chatID); derr != nil {
			wrapped = fmt.Errorf("%w (deactivating the link failed: %v)", wrapped, derr)
		}
		return channels.Permanent(wrapped)
	case errors.As(err, &moved), errors.Is(err, bot.ErrorBadRequest):
		// Malformed HTML, chat not found, migrated twice: resending the same
		// request gives the same answer.
		return channels.Permanent(wrapped)
	default:
		// 5xx, network trouble, 401 after a token change: worth retrying.
		return wrapped
	}
}

// inlineKeyboard is our own reply_markup type: the library's
// InlineKeyboardButton always serialises an empty "copy_text" object, which
// is not a field a URL button should carry.
type inlineKeyboard struct {
	InlineKeyboard [][]urlButton `json:"inline_keyboard"`
}

type urlButton struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// keyboard puts each button on its own row. Buttons without text or URL are
// left out: Telegram would reject the whole message for them.
func keyboard(buttons []channels.Button) models.ReplyMarkup {
	var rows [][]urlButton
	for _, b := range buttons {
		if strings.TrimSpace(b.Text) == "" || strings.TrimSpace(b.URL) == "" {
			continue
		}
		rows = append(rows, []urlButton{{Text: b.Text, URL: b.URL}})
	}
	if len(rows) == 0 {
		return nil
	}
	return &inlineKeyboard{InlineKeyboard: rows}
}
