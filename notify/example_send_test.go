package notify_test

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// A custom route that sends the signed-in user a one-time code by email
// and to their in-app inbox. The template "user.login-code" is an ordinary
// notifyTemplates record whose fields use {{.Data.code}}.
func ExampleSend() {
	app := pocketbase.New()
	notify.MustRegister(app, notify.Config{})

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.POST("/api/login-code", func(e *core.RequestEvent) error {
			err := notify.Send(e.App, notify.Message{
				User:     e.Auth.Id,
				Template: "user.login-code",
				Channels: []string{"email", "inbox"},
				Data:     map[string]any{"code": "4711"},
				Category: notify.CategorySecurity,
				// A retried request sends the code once.
				DedupeKey: "login-code:" + e.Auth.Id + ":4711",
			})
			if err != nil {
				return e.InternalServerError("could not send the code", err)
			}
			return e.NoContent(204)
		}).Bind(apis.RequireAuth())
		return se.Next()
	})

	if err := app.Start(); err != nil {
		app.Logger().Error(err.Error())
	}
}

// Inside a record hook, send through the write's transaction: the message
// is queued only if the write commits. PocketBase does not wrap a create or
// an update in a transaction by itself (the plugin does when a rule watches
// the collection), so the hook opens one; inside an existing transaction
// RunInTransaction simply joins it.
func ExampleSend_recordHook() {
	app := pocketbase.New()
	notify.MustRegister(app, notify.Config{})

	app.OnRecordCreateExecute("bookings").BindFunc(func(e *core.RecordEvent) error {
		original := e.App
		defer func() { e.App = original }()
		return e.App.RunInTransaction(func(txApp core.App) error {
			e.App = txApp
			if err := e.Next(); err != nil {
				return err
			}
			return notify.Send(txApp, notify.Message{
				User:     e.Record.GetString("client"),
				Template: "booking.confirmed",
				Channels: []string{"email", "telegram", "inbox"},
				Data:     map[string]any{"startsAt": e.Record.GetString("startsAt")},
			})
		})
	})
}
