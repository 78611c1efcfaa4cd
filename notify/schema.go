package notify

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/channels/webhook"
	"github.com/pbnotify/pbnotify/notify/internal/audience"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/pushsub"
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pbnotify/pbnotify/notify/internal/secrets"
	"github.com/pbnotify/pbnotify/notify/internal/telegramlink"
	"github.com/pbnotify/pbnotify/notify/internal/tracking"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/dbutils"
)

// Collection names of the plugin. They are part of the public contract.
const (
	TemplatesCollection = "notifyTemplates"
	RulesCollection     = "notifyRules"
	MessagesCollection  = outbox.Collection
)

// Message statuses, persisted in notifyMessages.status; never renamed.
const (
	StatusQueued    = outbox.StatusQueued
	StatusSending   = outbox.StatusSending
	StatusSent      = outbox.StatusSent
	StatusFailed    = outbox.StatusFailed
	StatusCancelled = outbox.StatusCancelled
	StatusSkipped   = outbox.StatusSkipped
)

// Rule categories, persisted in notifyRules.category.
const (
	CategorySecurity      = outbox.CategorySecurity
	CategoryTransactional = outbox.CategoryTransactional
	CategoryService       = outbox.CategoryService
	CategoryMarketing     = outbox.CategoryMarketing
)

// bodyMax is large enough for any email; the editor field is avoided on
// purpose because TinyMCE rewrites raw HTML templates.
const bodyMax = 1 << 20

// problemMax bounds notifyRules.problem.
const problemMax = 2000

// allChannels are the built-in channel names; channelNames adds the
// registered ones.
var allChannels = []string{channels.Email, channels.Telegram, channels.WebPush, channels.Inbox, sms.Name, webhook.Name}

// InstallCollections creates the plugin's collections (notifyTemplates,
// notifyRules, notifyMessages, notifyPushSubscriptions, notifyTelegramLinks,
// the notifyStats view) and its
// internal tables with their indexes and API rules. It is meant to run
// inside a migration, and again in a new migration after each upgrade of
// the plugin: it creates what is missing and adds to existing collections
// the fields and indexes (by name) a newer version introduced, leaving
// everything else, an owner's edits included, as it is. Running it twice
// changes nothing. usersCollection is the auth collection messages are
// addressed to.
func InstallCollections(app core.App, usersCollection string) error {
	users, err := app.FindCollectionByNameOrId(usersCollection)
	if err != nil {
		return fmt.Errorf("InstallCollections: recipients collection %q: %w", usersCollection, err)
	}
	for _, build := range []func() *core.Collection{templatesCollection, rulesCollection} {
		if err := installCollection(app, build()); err != nil {
			return err
		}
	}
	rules, err := app.FindCollectionByNameOrId(RulesCollection)
	if err != nil {
		return fmt.Errorf("InstallCollections: %w", err)
	}
	messages := outbox.NewCollection(users.Id, rules.Id, allChannels)
	audience.AddIndexes(messages) // the throttle's count
	for _, c := range []*core.Collection{
		messages,
		pushsub.NewCollection(users.Id),
		telegramlink.NewCollection(users.Id),
		render.NewBrandCollection(),
	} {
		if err := installCollection(app, c); err != nil {
			return err
		}
	}
	if err := tracking.DropOldTemplatesIndex(app, TemplatesCollection); err != nil {
		return fmt.Errorf("InstallCollections: %w", err)
	}
	if err := tracking.InstallStats(app, MessagesCollection); err != nil {
		return fmt.Errorf("InstallCollections: %w", err)
	}
	if err := installCollection(app, tracking.NewStatsCollection()); err != nil {
		return err
	}
	if err := telegramlink.EnsureTokensTable(app); err != nil {
		return err
	}
	if err := keepHistoryOnUserDelete(app); err != nil {
		return err
	}
	if err := audience.EnsureTable(app); err != nil {
		return err
	}
	if err := secrets.EnsureTable(app); err != nil {
		return err
	}
	return tracking.EnsureKey(app)
}

// installCollection creates want, or brings the existing collection of its
// name up to it: fields and indexes missing by name are added; nothing is
// removed or changed.
func installCollection(app core.App, want *core.Collection) error {
	existing, err := app.FindCollectionByNameOrId(want.Name)
	if errors.Is(err, sql.ErrNoRows) {
		if err := app.Save(want); err != nil {
			return fmt.Errorf("InstallCollections: %s: %w", want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("InstallCollections: %s: %w", want.Name, err)
	}
	changed := false
	for _, f := range want.Fields {
		have := existing.Fields.GetByName(f.GetName())
		if have == nil {
			existing.Fields.Add(f)
			changed = true
			continue
		}
		// A select field gains the values a newer version introduced (a
		// new rule mode); values the owner added stay.
		wantSel, ok1 := f.(*core.SelectField)
		haveSel, ok2 := have.(*core.SelectField)
		if ok1 && ok2 {
			for _, v := range wantSel.Values {
				if !slices.Contains(haveSel.Values, v) {
					haveSel.Values = append(haveSel.Values, v)
					if haveSel.MaxSelect > 1 {
						haveSel.MaxSelect = len(haveSel.Values)
					}
					changed = true
				}
			}
		}
	}
	have := map[string]bool{}
	for _, idx := range existing.Indexes {
		have[strings.ToLower(dbutils.ParseIndex(idx).IndexName)] = true
	}
	for _, idx := range want.Indexes {
		if !have[strings.ToLower(dbutils.ParseIndex(idx).IndexName)] {
			existing.Indexes = append(existing.Indexes, idx)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := app.Save(existing); err != nil {
		return fmt.Errorf("InstallCollections: upgrading %s: %w", want.Name, err)
	}
	return nil
}

func longText(name string) *core.TextField {
	return &core.TextField{Name: name, Max: bodyMax}
}

func templatesCollection() *core.Collection {
	c := core.NewBaseCollection(TemplatesCollection)
	// Superusers only: nil rules.
	c.Fields.Add(
		&core.TextField{Name: "key", Required: true, Max: 100, Pattern: `^[a-z0-9_.-]+$`, Presentable: true,
			Help: "Event key that rules refer to, e.g. order.shipped"},
		&core.TextField{Name: "locale", Required: true, Max: 10, Pattern: `^[a-z]{2}(-[A-Za-z]{2})?$`,
			Help: "Language of this version, e.g. ru or en"},
		&core.TextField{Name: "subject", Max: 1000, Help: "Email subject (text/template)"},
		&core.TextField{Name: "preheader", Max: 300, Help: "Email preview line shown after the subject in the inbox, hidden in the email (text/template, optional; about 40–130 characters show)"},
		&core.TextField{Name: "html", Max: bodyMax, Help: "Email HTML body (html/template), wrapped in the shop layout"},
		&core.TextField{Name: "text", Max: bodyMax, Help: "Email plain-text body (text/template)"},
		&core.TextField{Name: "telegram", Max: bodyMax, Help: "Telegram message, HTML parse mode (html/template)"},
		&core.TextField{Name: "pushTitle", Max: 1000},
		&core.TextField{Name: "pushBody", Max: 4000},
		&core.TextField{Name: "pushUrl", Max: 2000},
		&core.TextField{Name: "sms", Max: 2000, Help: "SMS text (text/template, plain); a Russian SMS part holds 70 characters, a Latin one 160"},
		&core.BoolField{Name: "active"},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	tracking.AddTemplateFields(c) // variant, weight; unique (key, locale, variant)
	return c
}

func rulesCollection() *core.Collection {
	c := core.NewBaseCollection(RulesCollection)
	c.Fields.Add(
		&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
		&core.BoolField{Name: "active"},
		&core.TextField{Name: "collection", Required: true, Max: 100, Help: "Collection whose records trigger the rule"},
		&core.SelectField{Name: "event", Required: true, MaxSelect: 1, Values: []string{"create", "update", "delete", "date"},
			Help: "create, update, delete: at the write; date: at a moment computed from dateField"},
		&core.TextField{Name: "changed", Max: 100, Help: "Only when this field's value changed (optional)"},
		&core.TextField{Name: "condition", Max: 2000, Help: `PocketBase filter the record must match, e.g. status = "shipped"`},
		&core.TextField{Name: "recipient", Required: true, Max: 200, Help: "Field path to the user (customer, order.customer, id), or @staff for every staff user"},
		&core.TextField{Name: "template", Required: true, Max: 100, Help: "Template key, e.g. order.shipped"},
		&core.SelectField{Name: "channels", Required: true, MaxSelect: len(allChannels), Values: allChannels},
		&core.SelectField{Name: "mode", MaxSelect: 1, Values: []string{ModeAll, ModeFirst, ModeEscalate},
			Help: "all: every listed channel; first: the first channel available to the user, in the listed order; escalate: the first, then the next if unread after escalateAfter"},
		&core.TextField{Name: "escalateAfter", Max: 50, Help: "With mode escalate: how long a step may go unread before the next channel gets the message, e.g. 30m"},
		&core.TextField{Name: "delay", Max: 50, Help: "Send later, e.g. 30m or 72h (optional)"},
		&core.TextField{Name: "guard", Max: 2000, Help: "Filter re-checked just before sending; the message is cancelled if it no longer matches"},
		&core.SelectField{Name: "category", Required: true, MaxSelect: 1,
			Values: []string{CategorySecurity, CategoryTransactional, CategoryService, CategoryMarketing}},
		// Time (see the README's "Time").
		&core.TextField{Name: "dateField", Max: 100, Help: "For date rules: the record's date field, e.g. startsAt or birthday"},
		&core.TextField{Name: "offset", Max: 50, Help: "For date rules: a signed duration from the date, e.g. -24h (a day before) or 3h; default 0"},
		&core.TextField{Name: "at", Max: 5, Help: "For date rules: HH:MM, the recipient's local time on the day date+offset falls on (optional)"},
		&core.SelectField{Name: "repeat", MaxSelect: 1, Values: []string{"yearly"}, Help: "yearly: after each occurrence the next year's is scheduled (birthdays)"},
		&core.TextField{Name: "window", Max: 20, Help: "HH:MM-HH:MM in the recipient's timezone (may wrap midnight): messages due outside wait for the next opening; security messages ignore it"},
		&core.TextField{Name: "throttle", Max: 50, Help: "N/duration, e.g. 1/24h: at most N messages of this rule per recipient; the rest are skipped as throttled"},
		&core.BoolField{Name: "debounce", Help: "With delay: a new matching write of the same record moves the queued message to now+delay instead of adding one"},
		&core.TextField{Name: "digest", Max: 50, Help: "A duration, e.g. 10m or 24h: the rule's messages to one recipient within it go out as one (.Items, .Count)"},
		&core.TextField{Name: "problem", Max: problemMax,
			Help: "Why the rule could not be evaluated at a write (its message was logged as failed); cleared when the rule is saved and validates"},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	return c
}
