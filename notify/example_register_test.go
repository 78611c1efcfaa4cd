package notify_test

import (
	"fmt"
	"log"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// Register before the app starts; serving applies the plugin's own
// migration (notify.MigrationFile), which creates its collections before
// your migrations run. examples/plugin is the whole program.
func ExampleRegister() {
	app, err := tests.NewTestApp() // your pocketbase.New()
	if err != nil {
		log.Fatal(err)
	}
	defer app.Cleanup()

	err = notify.Register(app, notify.Config{
		PublicURL:     "https://shop.example.org",
		DefaultLocale: "en",
		// The storefront's order page, for the templates' {{.Link}}.
		Shop: notify.Shop{RecordLink: "/#/{collection}/{id}"},
	})
	if err != nil {
		log.Fatal(err)
	}

	registered := false
	for _, m := range core.AppMigrations.Items() {
		registered = registered || m.File == notify.MigrationFile
	}
	fmt.Println("plugin migration registered:", registered)
	// Output: plugin migration registered: true
}
