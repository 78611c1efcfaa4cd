// Package notify is a PocketBase plugin that sends transactional
// notifications (email, Telegram, web push, in-app inbox) when records change.
//
// Rules and templates live in collections that admins edit in the dashboard.
// When a record write matches a rule, the messages are written to the
// notifyMessages outbox in the same SQLite transaction as the write, so a
// committed change never loses its notifications. A dispatcher started with
// the app claims due messages with a lease, renders them in the recipient's
// language, sends them and records the outcome, retrying transient failures
// with backoff.
//
// Usage:
//
//	app := pocketbase.New()
//	notify.MustRegister(app, notify.Config{
//		PublicURL: "https://shop.example.org",
//	})
//	app.Start()
//
// Register adds the plugin's own migration (MigrationFile), which creates
// its collections with InstallCollections when the app serves; seed
// templates and rules from your migrations with SeedTemplates and
// SeedRules. See the README for a complete example.
package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/telegram"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/pushsub"
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pbnotify/pbnotify/notify/internal/telegramlink"
	"github.com/pbnotify/pbnotify/notify/internal/tracking"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Config of the plugin. The zero value is usable.
type Config struct {
	// PublicURL is the shop's public address, used in links inside messages.
	// Default: the Application URL from the dashboard settings.
	PublicURL string

	// DefaultLocale is used when the recipient has no locale or no template
	// exists in theirs. Default: "en" (NOTIFY_DEFAULT_LOCALE).
	DefaultLocale string

	// UsersCollection is the auth collection messages are addressed to.
	// Default: "users".
	UsersCollection string

	// Shop holds the contacts shown in every email's layout, and
	// Shop.RecordLink the page a message's .Link points to (default
	// "/{collection}/{id}" on PublicURL; NOTIFY_RECORD_LINK). Default: the
	// application name and sender address from the dashboard settings.
	Shop Shop

	// Channels adds or replaces delivery channels by name. Email (from the
	// dashboard's SMTP settings) and the in-app inbox are always present
	// unless replaced here. Default: none.
	Channels []channels.Channel

	// Addresses resolves a user's address on a channel ("" when the user has
	// none). Default: the user's email for email; nothing for the others.
	Addresses map[string]func(user *core.Record) (string, error)

	// PreferencesField is the JSON field of the users collection holding
	// each user's channel and category choices (see Preferences). A users
	// collection without it means everything is on. Default: "notifyPrefs".
	PreferencesField string

	// VAPIDSubject is the contact web push services may use about this
	// shop's pushes: "mailto:owner@example.org" or "https://...". Web push is
	// off (messages skipped) while it is empty; Register refuses any other
	// value. Default: empty.
	VAPIDSubject string

	// PushAllowedOrigins are endpoint origins accepted for web push
	// subscriptions besides the browsers' push services (FCM, Mozilla,
	// Apple, Windows), e.g. a self-hosted push service. Default: none.
	PushAllowedOrigins []string

	// PushHTTPClient sends web pushes. Default: a client with a 10 s timeout.
	PushHTTPClient *http.Client

	// TelegramToken is the bot token from @BotFather. Telegram is off
	// (messages skipped) while it is empty. Default: empty.
	TelegramToken string

	// TelegramAPIURL is the Bot API server: a self-hosted one, or a test
	// server. Default: https://api.telegram.org.
	TelegramAPIURL string

	// TelegramWebhookSecret switches from long polling to a webhook at
	// /api/notify/telegram/webhook; Telegram sends it in the
	// X-Telegram-Bot-Api-Secret-Token header. Default: empty (long polling).
	TelegramWebhookSecret string

	// TelegramHTTPClient talks to the Bot API. Default: a client with a
	// 30 s timeout.
	TelegramHTTPClient *http.Client

	// TelegramGlobalRate and TelegramPerChatRate cap messages per second
	// overall and per chat, Telegram's published limits. Default: 30 and 1.
	TelegramGlobalRate  float64
	TelegramPerChatRate float64

	// SMSProvider is "twilio" or "smsru"; SMS messages are skipped, with
	// the reason, while it is empty. Default: empty (NOTIFY_SMS_PROVIDER).
	SMSProvider string

	// SMSAPIURL is the provider's base URL: a test server goes here.
	// Default: the provider's own (NOTIFY_SMS_API_URL).
	SMSAPIURL string

	// SMSAccount is the Twilio Account SID (NOTIFY_SMS_ACCOUNT), SMSToken
	// the Twilio auth token or the SMS.ru api_id (NOTIFY_SMS_TOKEN), SMSFrom
	// the sender number or name (NOTIFY_SMS_FROM). Default: empty.
	SMSAccount, SMSToken, SMSFrom string

	// SMSHTTPClient talks to the SMS provider. Default: a client with a
	// 30 s timeout.
	SMSHTTPClient *http.Client

	// WebhookURL receives every message on the webhook channel, signed as
	// Standard Webhooks with WebhookSecret ("whsec_" + base64). Webhook
	// messages are skipped, with the reason, while it is empty. Default:
	// empty (NOTIFY_WEBHOOK_URL, NOTIFY_WEBHOOK_SECRET).
	WebhookURL, WebhookSecret string

	// WebhookHTTPClient posts webhooks; it never follows redirects.
	// Default: a client with a 10 s timeout.
	WebhookHTTPClient *http.Client

	// TelegramLinkTTL is how long a "link Telegram" token works.
	// Default: 15 minutes.
	TelegramLinkTTL time.Duration

	// Workers is the number of messages sent in parallel on each channel
	// other than email (Telegram, web push, inbox, and any channel added in
	// Channels). Each channel has its own workers, so a slow or rate-limited
	// provider delays only its own messages. Default: 4 (NOTIFY_WORKERS).
	Workers int

	// EmailTLS overrides the TLS settings used to reach the SMTP server, for
	// a private CA. Default: the system's trusted roots.
	EmailTLS *tls.Config

	// EmailConnections is the number of SMTP connections kept open and
	// reused, which is also the number of emails sent in parallel. A remote
	// provider that takes L seconds per message delivers about
	// EmailConnections ÷ L emails per second. Default: 4
	// (NOTIFY_EMAIL_CONNECTIONS).
	EmailConnections int

	// MaxAttempts is how many times a message is tried before it is marked
	// failed. Retries that a provider asked for (HTTP 429) do not count.
	// Default: 10 (about 6 hours of retries with the default backoff).
	MaxAttempts int

	// Backoff returns the wait before the next try after attempt n failed.
	// Default: Backoff (n⁴ seconds with jitter).
	Backoff func(attempt int) time.Duration

	// Lease is how long a claimed message is reserved for one attempt
	// without renewal. This process renews the leases of its work in flight
	// every Lease/3, so a lease lapses only when its process died; then the
	// message is sent again. Default: 2 minutes.
	Lease time.Duration

	// SendTimeout bounds one send on one channel. It is longer than SMTP's
	// own 10-minute wait for the reply to a message (RFC 5321 4.5.3.2.6):
	// giving up earlier would send a message again that the server may
	// have accepted. Default: 11 minutes.
	SendTimeout time.Duration

	// PollInterval is the longest the dispatcher sleeps without being woken
	// by a commit. Default: 5 seconds.
	PollInterval time.Duration

	// ShutdownGrace is how long sends in flight may finish at shutdown before
	// they are cancelled and released. Default: 10 seconds.
	ShutdownGrace time.Duration

	// NoClickTracking leaves the links in messages as they are instead of
	// signing them as {PublicURL}/r/{token} links that record the first
	// click. Default: false, links are signed (NOTIFY_TRACK_CLICKS=off
	// sets it).
	NoClickTracking bool

	// TrackOpens puts a 1×1 image in every HTML email whose fetch records
	// the first open. Default: false (NOTIFY_TRACK_OPENS=on sets it).
	TrackOpens bool

	// DisableDispatcher stops this process from sending (rules still enqueue).
	// Default: false.
	DisableDispatcher bool

	// Now returns the current time. Default: time.Now.
	Now func() time.Time

	// Timezone is the IANA timezone (e.g. "Europe/Moscow") of recipients
	// who set none in users.timezone: date rules' "at", send windows and
	// the templates' datetime use it. Register refuses a name that is not
	// one. Default: UTC (NOTIFY_TIMEZONE).
	Timezone string
}

// Defaults of Config that are the plugin's own; the queue's are named in
// package outbox.
const (
	defaultLocale           = "en"
	defaultEmailConnections = 4
	defaultSendTimeout      = 11 * time.Minute
)

// plugin is the registered instance.
type plugin struct {
	app       core.App
	settings  *settingsCopy
	cfg       Config
	rules     atomic.Pointer[rules.Set]
	templates *render.Cache
	senders   map[string]channels.Channel
	addresses map[string]func(user *core.Record) (string, error)
	disp      *outbox.Dispatcher
	// committing holds, per record being written, the lanes its messages
	// went to, from the write's transaction to its after-commit hook.
	committing sync.Map // *core.Record → map[channel]due time
	stop       context.CancelFunc
	stopped    chan struct{}

	links       *telegramlink.Store
	vapidKeys   *pushsub.KeyCache
	telegram    *telegram.Channel // nil unless a bot token is configured
	trackKeys   tracking.Keys
	stopPolling context.CancelFunc
	pollingDone chan struct{}

	brand render.BrandCache // the notifyBrand record, for the email layout
	// zone is Config.Timezone loaded; nil means UTC.
	zone *time.Location
}

// MustRegister registers the plugin and panics on error.
func MustRegister(app core.App, cfg Config) {
	if err := Register(app, cfg); err != nil {
		panic(err)
	}
}

// Register registers the plugin: enqueue hooks on every collection, rule and
// template validation, the admin routes, and the dispatcher that runs while
// the app serves.
func Register(app core.App, cfg Config) error {
	if cfg.DefaultLocale == "" {
		cfg.DefaultLocale = defaultLocale
	}
	if cfg.UsersCollection == "" {
		cfg.UsersCollection = "users"
	}
	if cfg.PreferencesField == "" {
		cfg.PreferencesField = "notifyPrefs"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = outbox.DefaultWorkers
	}
	if cfg.EmailConnections <= 0 {
		cfg.EmailConnections = defaultEmailConnections
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = outbox.DefaultMaxAttempts
	}
	if cfg.Backoff == nil {
		cfg.Backoff = Backoff
	}
	if cfg.Lease <= 0 {
		cfg.Lease = outbox.DefaultLease
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = defaultSendTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = outbox.DefaultPollInterval
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = outbox.DefaultShutdownGrace
	}
	if cfg.TelegramLinkTTL <= 0 {
		cfg.TelegramLinkTTL = linkTTLDefault
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	registerMigration(cfg.UsersCollection)

	p := &plugin{app: app, cfg: cfg, templates: render.NewCache(TemplatesCollection), settings: newSettingsCopy(app)}
	if err := p.setupTime(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	p.senders = map[string]channels.Channel{
		channels.Email: newSettingsMailer(p.settings, cfg.EmailConnections, cfg.EmailTLS),
		channels.Inbox: inboxChannel{},
	}
	p.addresses = map[string]func(*core.Record) (string, error){
		channels.Email: func(u *core.Record) (string, error) { return u.Email(), nil },
	}
	if err := p.setupPush(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := p.setupTelegram(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := p.setupReach(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	for _, ch := range cfg.Channels {
		p.senders[ch.Name()] = ch
	}
	for name, fn := range cfg.Addresses {
		p.addresses[name] = fn
	}

	lanes := []outbox.Lane{{Channel: channels.Email, Workers: cfg.EmailConnections}}
	for name := range p.senders {
		if name != channels.Email {
			lanes = append(lanes, outbox.Lane{Channel: name, Workers: cfg.Workers})
		}
	}
	disp, err := outbox.New(app, outbox.Config{
		Lanes:         lanes,
		OtherWorkers:  cfg.Workers,
		Lease:         cfg.Lease,
		PollInterval:  cfg.PollInterval,
		ShutdownGrace: cfg.ShutdownGrace,
		Retry:         outbox.RetryPolicy{MaxAttempts: cfg.MaxAttempts, Backoff: cfg.Backoff},
		Now:           cfg.Now,
	}, p.deliverTimed)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	p.disp = disp
	// Send finds the plugin here, from the app or any transaction of it.
	app.Store().Set(pluginStoreKey, p)

	p.bindEnqueue()
	p.bindSecurityAlerts()
	p.bindSysmail()
	p.bindRetry()
	p.bindRuleDelete()
	p.bindUserDelete()
	p.bindInboxRead()
	p.bindPreferences()
	p.bindValidation()
	p.bindSchemaGuard()
	p.bindBrand()
	p.bindRoutes()
	p.bindConsole()
	p.bindPushRoutes()
	p.bindChannelsRoute()
	p.bindTelegram()
	p.bindTrackingRoutes()

	// Rules are loaded once the database is up and reloaded on every change.
	app.OnBootstrap().Bind(&hook.Handler[*core.BootstrapEvent]{
		Id: HookReload,
		Func: func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			if err := p.reloadRules(e.App); err != nil {
				// Before migrations ran the collection may not exist yet;
				// serve reloads after migrating.
				e.App.Logger().Debug("notify: rules not loaded yet", "error", err)
			}
			return nil
		},
	})
	// The select fields holding channel names follow the registered
	// channels; after migrations, which may have just created them.
	app.OnBootstrap().Bind(&hook.Handler[*core.BootstrapEvent]{
		Id: HookChannelValues,
		Func: func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			if err := p.syncChannelValues(e.App); err != nil {
				e.App.Logger().Warn("notify: channel names not synced yet", "error", err)
			}
			return nil
		},
	})
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookChannelValues,
		Func: func(e *core.ServeEvent) error {
			if err := p.syncChannelValues(e.App); err != nil {
				return fmt.Errorf("notify: %w", err)
			}
			return e.Next()
		},
	})
	reload := func(e *core.ModelEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		if err := p.reloadRules(e.App); err != nil {
			e.App.Logger().Error("notify: reloading rules failed", "error", err)
		}
		return nil
	}
	resetTemplates := func(e *core.ModelEvent) error {
		p.templates.Reset()
		return e.Next()
	}
	for _, h := range []interface {
		Bind(*hook.Handler[*core.ModelEvent]) string
	}{app.OnModelAfterCreateSuccess(), app.OnModelAfterUpdateSuccess(), app.OnModelAfterDeleteSuccess()} {
		h.Bind(&hook.Handler[*core.ModelEvent]{Id: HookReload, Func: func(e *core.ModelEvent) error {
			switch e.Model.TableName() {
			case RulesCollection:
				return reload(e)
			case TemplatesCollection:
				return resetTemplates(e)
			}
			return e.Next()
		}})
	}

	if !cfg.DisableDispatcher {
		app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
			Id: HookDispatcher,
			Func: func(e *core.ServeEvent) error {
				if err := p.reloadRules(e.App); err != nil {
					return fmt.Errorf("notify: %w", err)
				}
				p.Start()
				return e.Next()
			},
		})
		app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
			Id: HookDispatcher,
			Func: func(e *core.TerminateEvent) error {
				p.Stop()
				return e.Next()
			},
		})
	}
	return nil
}

// Start runs the dispatcher in the background. Serve calls it; tests that
// do not serve call it themselves through Dispatcher.
func (p *plugin) Start() {
	if p.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.stopped = make(chan struct{})
	go func() {
		defer close(p.stopped)
		p.disp.Run(ctx)
	}()
}

// Stop stops the dispatcher and waits until claimed messages are finalized
// or released.
func (p *plugin) Stop() {
	if p.stop == nil {
		return
	}
	p.stop()
	<-p.stopped
	p.stop = nil
	if m, ok := p.senders[channels.Email].(*settingsMailer); ok {
		m.close()
	}
}

// bindEnqueue wraps every record write that has matching rules in a
// transaction and inserts the outbox rows in it.
func (p *plugin) bindEnqueue() {
	execute := func(event string) func(e *core.RecordEvent) error {
		return func(e *core.RecordEvent) error {
			candidates := p.rules.Load().Match(e.Record.Collection().Name, event)
			dated := p.rules.Load().Match(e.Record.Collection().Name, rules.EventDate)
			if len(candidates) == 0 && len(dated) == 0 {
				return e.Next()
			}
			original := e.App
			defer func() { e.App = original }()
			return e.App.RunInTransaction(func(txApp core.App) error {
				e.App = txApp
				if event == rules.EventDelete {
					// After the delete there is nothing left to match.
					ev, err := p.evaluateWrite(txApp, e.Record, event, candidates)
					if err != nil {
						return err
					}
					if err := e.Next(); err != nil {
						return err
					}
					if err := p.enqueueWrite(txApp, e.Record, ev); err != nil {
						return err
					}
					_, err = p.scheduleDates(txApp, e.Record, event, dated, &ev)
					return err
				}
				if err := e.Next(); err != nil {
					return err
				}
				ev, err := p.evaluateWrite(txApp, e.Record, event, candidates)
				if err != nil {
					return err
				}
				// Date rules move or cancel what they queued before, and
				// add their new messages to the write's (time.go).
				moved, err := p.scheduleDates(txApp, e.Record, event, dated, &ev)
				if err != nil {
					return err
				}
				if err := p.enqueueWrite(txApp, e.Record, ev); err != nil {
					return err
				}
				p.noteDue(e.Record, moved)
				return nil
			})
		}
	}
	// After-success hooks fire once the outermost transaction committed
	// (including a batch request's), which is when the rows become visible.
	wake := func(e *core.RecordEvent) error {
		if p.rules.Load().Watches(e.Record.Collection().Name) {
			p.wakeAfterCommit(e.Record)
		}
		return e.Next()
	}
	// A write that failed leaves nothing to wake for.
	forget := func(e *core.RecordErrorEvent) error {
		p.committing.Delete(e.Record)
		return e.Next()
	}
	// Priority -1000 makes the transaction the outermost handler, so every
	// other user hook on the write runs inside it.
	p.app.OnRecordCreateExecute().Bind(&hook.Handler[*core.RecordEvent]{Id: HookEnqueue, Func: execute("create"), Priority: -1000})
	p.app.OnRecordUpdateExecute().Bind(&hook.Handler[*core.RecordEvent]{Id: HookEnqueue, Func: execute("update"), Priority: -1000})
	p.app.OnRecordDeleteExecute().Bind(&hook.Handler[*core.RecordEvent]{Id: HookEnqueue, Func: execute("delete"), Priority: -1000})
	p.app.OnRecordAfterCreateSuccess().Bind(&hook.Handler[*core.RecordEvent]{Id: HookWake, Func: wake})
	p.app.OnRecordAfterUpdateSuccess().Bind(&hook.Handler[*core.RecordEvent]{Id: HookWake, Func: wake})
	p.app.OnRecordAfterDeleteSuccess().Bind(&hook.Handler[*core.RecordEvent]{Id: HookWake, Func: wake})
	p.app.OnRecordAfterCreateError().Bind(&hook.Handler[*core.RecordErrorEvent]{Id: HookWake, Func: forget})
	p.app.OnRecordAfterUpdateError().Bind(&hook.Handler[*core.RecordErrorEvent]{Id: HookWake, Func: forget})
	p.app.OnRecordAfterDeleteError().Bind(&hook.Handler[*core.RecordErrorEvent]{Id: HookWake, Func: forget})
}

// bindRuleDelete cancels the queued messages of a rule being deleted, in
// the delete's transaction. Without it PocketBase would just clear their
// rule relation, and they would go out with no guard to stop them.
func (p *plugin) bindRuleDelete() {
	p.app.OnRecordDeleteExecute(RulesCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookRuleDelete,
		// After the system handler (99), which opened the transaction and
		// set e.App to it, and before the row and its references go.
		Priority: 100,
		Func: func(e *core.RecordEvent) error {
			_, err := e.App.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}}
				SET [[status]] = 'cancelled', [[error]] = {:why}, [[updated]] = {:now}
				WHERE [[rule]] = {:rule} AND [[status]] = 'queued'`).Bind(dbx.Params{
				"rule": e.Record.Id, "now": outbox.DBTime(p.cfg.Now()),
				"why": fmt.Sprintf("rule %q was deleted", e.Record.GetString("name")),
			}).Execute()
			if err != nil {
				return fmt.Errorf("notify: cancelling the rule's queued messages: %w", err)
			}
			return e.Next()
		},
	})
}

// bindRetry makes "set status to queued" the way an admin retries a
// message in the dashboard: the attempt counter, error and lease start
// afresh, and the dispatcher is woken once the change is saved.
func (p *plugin) bindRetry() {
	p.app.OnRecordUpdate(MessagesCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookRetry,
		Func: func(e *core.RecordEvent) error {
			was := e.Record.Original().GetString("status")
			if e.Record.GetString("status") == StatusQueued && was != StatusQueued && was != StatusSending {
				e.Record.Set("attempts", 0)
				e.Record.Set("error", "")
				e.Record.Set("leaseUntil", "")
				if !e.Record.GetDateTime("runAt").Time().After(p.cfg.Now()) {
					e.Record.Set("runAt", outbox.DBTime(p.cfg.Now()))
				}
			}
			return e.Next()
		},
	})
	p.app.OnRecordAfterUpdateSuccess(MessagesCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookRetry,
		Func: func(e *core.RecordEvent) error {
			if e.Record.GetString("status") == StatusQueued {
				p.disp.Wake()
			}
			return e.Next()
		},
	})
}

// shop is the sender identity messages show: Config.Shop, filled in from
// the dashboard settings, read afresh so that an edit there shows at once.
func (p *plugin) shop() Shop { return p.shopIn("") }

// shopIn is shop as a reader of locale sees it: the name and address the
// owner gave for that language in notifyBrand, if any.
func (p *plugin) shopIn(locale string) Shop {
	s := p.cfg.Shop
	meta := p.settings.get().Meta
	if s.Name == "" {
		s.Name = meta.AppName
	}
	if s.URL == "" {
		s.URL = p.cfg.PublicURL
	}
	if s.URL == "" {
		s.URL = strings.TrimRight(meta.AppURL, "/")
	}
	if s.Email == "" {
		s.Email = meta.SenderAddress
	}
	if s.Accent == "" {
		s.Accent = meta.AccentColor
	}
	return p.brand.Apply(p.app, s, locale)
}

// inboxChannel delivers by keeping the message: the notifyMessages row
// itself is what the customer reads, and saving it as sent broadcasts it
// over realtime.
type inboxChannel struct{}

func (inboxChannel) Name() string { return channels.Inbox }
func (inboxChannel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if m.PushTitle == "" && m.PushBody == "" && m.Subject == "" {
		return "", channels.Skip("the template has no inbox text (pushTitle/pushBody)")
	}
	return "", nil
}
