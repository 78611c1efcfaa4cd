package notify

import (
	"encoding/json"
	"fmt"
	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/channels/webhook"
	"slices"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Preferences are a user's choices of which categories reach them on which
// channel, stored as JSON in the users collection:
//
//	{"email": {"marketing": false}, "telegram": {"service": false}}
//
// Anything not mentioned is on. Security and transactional messages must
// stay on for at least one channel: a customer cannot silence the message
// that their order was cancelled.
type Preferences map[string]map[string]bool

var (
	allCategories       = []string{CategorySecurity, CategoryTransactional, CategoryService, CategoryMarketing}
	mandatoryCategories = []string{CategorySecurity, CategoryTransactional}
)

// Allows reports whether category may be sent on channel.
func (p Preferences) Allows(channel, category string) bool {
	on, set := p[channel][category]
	return !set || on
}

func preferencesOf(user *core.Record, field string) Preferences {
	var prefs Preferences
	if raw, ok := user.Get(field).(types.JSONRaw); ok && len(raw) > 0 {
		_ = json.Unmarshal(raw, &prefs)
	}
	return prefs
}

// validatePreferences checks the JSON shape, that it names only known
// channels (channelNames) and categories, and that every mandatory
// category stays on for one of the channels the shop runs (running):
// being on for a channel the shop does not run reaches nobody.
func validatePreferences(raw []byte, channelNames, running []string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var prefs Preferences
	if err := json.Unmarshal(raw, &prefs); err != nil {
		return fmt.Errorf(`must look like {"email": {"marketing": false}}: %v`, err)
	}
	for ch, cats := range prefs {
		if !slices.Contains(channelNames, ch) {
			return fmt.Errorf("unknown channel %q; use %s", ch, strings.Join(channelNames, ", "))
		}
		for cat := range cats {
			if !slices.Contains(allCategories, cat) {
				return fmt.Errorf("unknown category %q; use %s", cat, strings.Join(allCategories, ", "))
			}
		}
	}
	for _, cat := range mandatoryCategories {
		on := false
		for _, ch := range running {
			if prefs.Allows(ch, cat) {
				on = true
				break
			}
		}
		if !on {
			return fmt.Errorf("%s messages must stay on for at least one channel this shop delivers on (%s)", cat, strings.Join(running, ", "))
		}
	}
	return nil
}

func (p *plugin) bindPreferences() {
	p.app.OnRecordValidate(p.cfg.UsersCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookPreferences,
		Func: func(e *core.RecordEvent) error {
			if e.Record.Collection().Fields.GetByName(p.cfg.PreferencesField) != nil {
				raw, _ := e.Record.Get(p.cfg.PreferencesField).(types.JSONRaw)
				if err := validatePreferences(raw, p.customerChannels(), p.runningChannels()); err != nil {
					return validation.Errors{p.cfg.PreferencesField: validation.NewError("validation_notify_prefs", err.Error())}
				}
			}
			return e.Next()
		},
	})
}

// turnedOff is the reason a user's preferences stop a message, or "".
func (p *plugin) turnedOff(user *core.Record, channel, category string) string {
	if category == "" || preferencesOf(user, p.cfg.PreferencesField).Allows(channel, category) {
		return ""
	}
	return fmt.Sprintf("the customer turned off %s messages on %s", category, channel)
}

// customerChannels are the channels a customer's preferences speak of: not
// the webhook, which tells the shop's own systems, and not SMS while no
// provider is configured, so that "transactional stays on somewhere" means
// somewhere that can reach them.
func (p *plugin) customerChannels() []string {
	var out []string
	for _, name := range p.channelNames() {
		_, builtinHook := p.senders[name].(*webhook.Channel)
		_, builtinSMS := p.senders[name].(*sms.Channel)
		if builtinHook || builtinSMS && p.cfg.SMSProvider == "" {
			continue // an app's own channel of that name is the app's to judge
		}
		out = append(out, name)
	}
	return out
}
