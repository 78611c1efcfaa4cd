package notify_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// roomChannel posts messages to a team chat room: any type with Name and
// Send is a channel.
type roomChannel struct{}

func (roomChannel) Name() string { return "room" }

// Send delivers one message. Returning channels.Skip, channels.Permanent
// or channels.RetryAfter tells the queue what to do with a failure; any
// other error is retried with backoff.
func (roomChannel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if m.To == "" {
		return "", channels.Skip("the user has no room handle")
	}
	// post m.Text to the room as m.To here
	return "room-message-id", nil
}

// A channel of your own: rules, preferences and notify.Send accept its
// name, and Config.Addresses says where a user is on it.
func Example_customChannel() {
	app, err := tests.NewTestApp()
	if err != nil {
		log.Fatal(err)
	}
	defer app.Cleanup()

	err = notify.Register(app, notify.Config{
		Channels: []channels.Channel{roomChannel{}},
		Addresses: map[string]func(user *core.Record) (string, error){
			"room": func(user *core.Record) (string, error) { return "@" + user.GetString("name"), nil },
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// serve would apply the plugin's migration; a test app is migrated already.
	if err := notify.InstallCollections(app, "users"); err != nil {
		log.Fatal(err)
	}
	if err := notify.SeedTemplates(app, []notify.TemplateSeed{{
		Key: "team.hello", Locale: "en", Fields: map[string]string{"text": "Hello {{.User.Name}}"},
	}}); err != nil {
		log.Fatal(err)
	}
	users, _ := app.FindCollectionByNameOrId("users")
	anna := core.NewRecord(users)
	anna.Set("email", "anna@example.org")
	anna.Set("name", "anna")
	anna.SetPassword("secret12345")
	if err := app.Save(anna); err != nil {
		log.Fatal(err)
	}

	if err := notify.Send(app, notify.Message{User: anna.Id, Template: "team.hello", Channels: []string{"room"}}); err != nil {
		log.Fatal(err)
	}
	queued, err := app.FindFirstRecordByData(notify.MessagesCollection, "user", anna.Id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(queued.GetString("channel"), queued.GetString("status"))
	// Output: room queued
}
