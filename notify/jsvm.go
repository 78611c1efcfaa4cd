package notify

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// JSBinding is the $notify object of JS hooks (pb_hooks/*.pb.js), for the
// jsvm plugin of PocketBase. Set it in the plugin's OnInit, which runs for
// every JS runtime:
//
//	jsvm.MustRegister(app, jsvm.Config{
//		OnInit: func(vm *goja.Runtime) { vm.Set("$notify", notify.JS(app)) },
//	})
//
// The package itself does not depend on the JS engine: only the binary
// that loads JS hooks does.
type JSBinding struct {
	app core.App
}

// JS returns the $notify binding for JS hooks of app. Its methods are
// seen from JS in lowerCamelCase, as every Go method is in PocketBase's JS
// hooks: $notify.send.
func JS(app core.App) *JSBinding { return &JSBinding{app: app} }

// jsMessageKeys are the properties $notify.send understands; any other is
// refused, so that a typo ("chanels") is an error, not a silent default.
var jsMessageKeys = []string{"user", "template", "channels", "data", "category", "delay", "dedupeKey"}

// Send is $notify.send(message[, app]): Send with message's properties,
// which have the meaning of Message's fields:
//
//	$notify.send({
//		user: e.auth.id,            // a users id, or the user record itself
//		template: "user.login-code",
//		channels: ["email", "inbox"],
//		data: { code: "4711" },     // .Data in the template
//		category: "security",       // default "transactional"
//		delay: "10m",               // a Go duration; default none
//		dedupeKey: "login:" + id,   // default none
//	})
//
// Without app it writes through $app. Inside a record hook, pass the
// hook's e.app: the message then commits or rolls back with the write, and
// writing through $app while the write's transaction is open would wait
// for it forever. An error is thrown to the JS caller.
func (b *JSBinding) Send(message map[string]any, app ...core.App) error {
	m, err := jsMessage(message)
	if err != nil {
		return fmt.Errorf("$notify.send: %w", err)
	}
	target := b.app
	if len(app) > 1 {
		return errors.New("$notify.send: pass one app at most (the hook's e.app)")
	}
	if len(app) == 1 && app[0] != nil {
		target = app[0]
	}
	return Send(target, m)
}

// jsMessage reads a $notify.send argument, as goja exports a JS object:
// strings, []any for arrays, map[string]any for objects, int64 or float64
// for numbers, and Go values (a *core.Record) as they are.
func jsMessage(in map[string]any) (Message, error) {
	var unknown []string
	for k := range in {
		if !slices.Contains(jsMessageKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Message{}, fmt.Errorf("unknown propert%s %s; use %s", plural(len(unknown), "y", "ies"),
			strings.Join(unknown, ", "), strings.Join(jsMessageKeys, ", "))
	}
	var m Message
	var err error
	switch u := in["user"].(type) {
	case nil:
	case string:
		m.User = u
	case *core.Record:
		m.User = u.Id
	default:
		return Message{}, fmt.Errorf("user must be a user id or record, not %T", u)
	}
	if m.Template, err = jsString(in, "template"); err != nil {
		return Message{}, err
	}
	switch chans := in["channels"].(type) {
	case nil:
	case string:
		m.Channels = []string{chans}
	case []string:
		m.Channels = chans
	case []any:
		for _, c := range chans {
			s, ok := c.(string)
			if !ok {
				return Message{}, fmt.Errorf("channels must be names, not %T", c)
			}
			m.Channels = append(m.Channels, s)
		}
	default:
		return Message{}, fmt.Errorf("channels must be a list of names, not %T", chans)
	}
	switch d := in["data"].(type) {
	case nil:
	case map[string]any:
		m.Data = d
	default:
		return Message{}, fmt.Errorf("data must be an object, not %T", d)
	}
	if m.Category, err = jsString(in, "category"); err != nil {
		return Message{}, err
	}
	if m.DedupeKey, err = jsString(in, "dedupeKey"); err != nil {
		return Message{}, err
	}
	delay, err := jsString(in, "delay")
	if err != nil {
		return Message{}, err
	}
	if delay != "" {
		if m.Delay, err = time.ParseDuration(delay); err != nil {
			return Message{}, fmt.Errorf("delay %q is not a duration such as \"90s\", \"10m\" or \"72h\"", delay)
		}
	}
	return m, nil
}

func jsString(in map[string]any, key string) (string, error) {
	switch v := in[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s must be a string, not %T", key, v)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
