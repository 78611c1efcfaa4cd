// Command shop is the shop binary: PocketBase with the shop collections,
// the notification plugin and the storefront in pb_public, in one file.
//
//	./shop serve                      # http://127.0.0.1:8090, dashboard at /_/
//	./shop superuser upsert EMAIL PASS
//	./shop notify vapid [--rotate]    # web push public key
//
// JS hooks in pb_hooks/*.pb.js (next to pb_data, or --hooksDir) are loaded
// as PocketBase's own binary loads them, with $notify.send in scope.
package main

import (
	"embed"
	"io/fs"
	"log"
	"os"

	"github.com/dop251/goja"
	"github.com/pbnotify/pbnotify/hooks"
	"github.com/pbnotify/pbnotify/notify"
	_ "github.com/pbnotify/pbnotify/pb_migrations"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/plugins/jsvm"
	"github.com/pocketbase/pocketbase/tools/hook"
)

//go:embed all:pb_public
var publicFiles embed.FS

func main() {
	// Dev mode (SQL logs on stdout) only when asked for with --dev:
	// PocketBase would otherwise switch it on for any binary that lives
	// under the temp dir, mistaking it for `go run`.
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDev: false})

	var publicDir string
	app.RootCmd.PersistentFlags().StringVar(&publicDir, "publicDir", "",
		"serve the storefront from this directory instead of the copy built into the binary")

	// The JS hooks flags and defaults of PocketBase's own binary.
	var hooksDir string
	app.RootCmd.PersistentFlags().StringVar(&hooksDir, "hooksDir", "",
		"the directory with the JS app hooks (default pb_data/../pb_hooks)")
	var hooksWatch bool
	app.RootCmd.PersistentFlags().BoolVar(&hooksWatch, "hooksWatch", true,
		"auto restart the app on pb_hooks file change; it has no effect on Windows")
	var hooksPool int
	app.RootCmd.PersistentFlags().IntVar(&hooksPool, "hooksPool", 15,
		"the total prewarm goja.Runtime instances for the JS app hooks execution")
	// The hooks are loaded before Start parses the flags: parse them now.
	_ = app.RootCmd.ParseFlags(os.Args[1:])

	hooks.Bind(app)
	cfg, err := notify.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	if err := notify.Register(app, hooks.NotifyConfig(cfg)); err != nil {
		log.Fatal(err) // a configuration mistake: say what to fix, no stack trace
	}
	app.RootCmd.AddCommand(notify.NewCommand(app))

	// After the plugin, so that a JS hook's handlers run inside its
	// transaction and $notify finds it registered.
	if err := jsvm.Register(app, jsvm.Config{
		HooksDir:      hooksDir,
		HooksWatch:    hooksWatch,
		HooksPoolSize: hooksPool,
		OnInit:        func(vm *goja.Runtime) { vm.Set("$notify", notify.JS(app)) },
	}); err != nil {
		log.Fatal(err)
	}

	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: "shopStatic",
		Func: func(e *core.ServeEvent) error {
			var site fs.FS
			if publicDir != "" {
				site = os.DirFS(publicDir)
			} else {
				sub, err := fs.Sub(publicFiles, "pb_public")
				if err != nil {
					return err
				}
				site = sub
			}
			if !e.Router.HasRoute("GET", "/{path...}") {
				e.Router.GET("/{path...}", apis.Static(site, false))
			}
			return e.Next()
		},
		Priority: 999, // after the plugin's routes
	})

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
