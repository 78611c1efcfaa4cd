// Package console is the plugin's page in the PocketBase dashboard: a UI
// extension (served at /_/extensions/notify/, its main.js loaded into the
// dashboard) that adds a "Notifications" header link opening /_/#/notify,
// and the superuser-only JSON routes under /api/notify/console/ it reads.
//
// The page shows the outbox's health, failures grouped by reason with a
// retry per group, a template editor with a live preview of every channel,
// messages per rule over time, and a rule simulator. Everything it needs
// from the plugin (which channels are configured, how a draft template
// renders, how rules would fire) comes in through Config, so this package
// knows nothing of the plugin's internals:
//
//	console.Register(app, console.Config{Now: ..., Channels: ..., Validate: ..., Preview: ..., Simulate: ...})
//
// PocketBase marks the UI extension API experimental (v0.40); the browser
// tests in e2e/console.test.mjs say when it changes.
package console

import (
	"embed"
	"github.com/pbnotify/pbnotify/notify/internal/tracking"
	"io/fs"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

//go:embed ui
var uiFiles embed.FS

// ExtensionName is the UI extension's name: its files are served under
// /_/extensions/notify/.
const ExtensionName = "notify"

// HookID is the id of the OnServe handler that registers the extension and
// the routes, so an app can Unbind it.
const HookID = "__notifyConsole__"

// Collection names the console reads.
const (
	MessagesCollection  = "notifyMessages"
	TemplatesCollection = "notifyTemplates"
	RulesCollection     = "notifyRules"
	StatsCollection     = tracking.StatsCollection
)

// Channel is one channel as the health panel shows it.
type Channel struct {
	Name       string `json:"name"`
	Configured bool   `json:"configured"`
	// Setup says, for a channel that is not configured, where it is set up
	// (an environment variable or a dashboard setting).
	Setup string `json:"setup,omitempty"`
}

// Config is what the console needs from the plugin. Every func is required.
type Config struct {
	// Now is the plugin's clock (due, retrying and "last 24 h" are
	// relative to it). Default time.Now.
	Now func() time.Time
	// Channels lists the registered channels and whether each is set up.
	Channels func(app core.App) []Channel
	// Validate checks a template record as saving it would: nil, or a
	// validation.Errors naming the field.
	Validate func(app core.App, tpl *core.Record) error
	// Preview renders a template record (possibly unsaved) against the
	// record with recordID, or sample data for "", for every channel. An
	// error is an API error for the admin (a *router.ApiError) or the
	// app's.
	Preview func(e *core.RequestEvent, tpl *core.Record, recordID string) (any, error)
	// Simulate says which rules a write would fire and why the others
	// would not, without writing anything.
	Simulate func(app core.App, req SimulateRequest) (*Simulation, error)
}

type console struct {
	cfg Config
}

// Register adds the dashboard extension and its routes to app. It panics
// when a required func of cfg is missing: that is a wiring bug.
func Register(app core.App, cfg Config) {
	if cfg.Channels == nil || cfg.Validate == nil || cfg.Preview == nil || cfg.Simulate == nil {
		panic("console.Register: Config.Channels, Validate, Preview and Simulate are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &console{cfg: cfg}
	ui, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic("console.Register: " + err.Error()) // the embedded directory is fixed at build time
	}
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookID,
		Func: func(se *core.ServeEvent) error {
			se.UIExtensions = append(se.UIExtensions, core.UIExtension{Name: ExtensionName, FS: ui})
			g := se.Router.Group("/api/notify/console")
			g.Bind(apis.RequireSuperuserAuth())
			g.GET("/health", c.handleHealth)
			g.GET("/failures", c.handleFailures)
			g.POST("/failures/retry", c.handleRetryGroup)
			g.GET("/stats", c.handleStats)
			g.POST("/templates/{id}/draft", c.handleDraft)
			g.POST("/simulate", c.handleSimulate)
			return se.Next()
		},
	})
}
