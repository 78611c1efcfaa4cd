package main

import (
	"fmt"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
)

// register adds the notify plugin to app, configured from the NOTIFY_*
// environment variables (NOTIFY_TIMEZONE is the clients' default
// timezone). Tests pass their own config to registerWith.
func register(app core.App) error {
	cfg, err := notify.ConfigFromEnv()
	if err != nil {
		return err
	}
	return registerWith(app, cfg)
}

func registerWith(app core.App, cfg notify.Config) error {
	if err := notify.Register(app, cfg); err != nil {
		return fmt.Errorf("appointments: %w", err)
	}
	return nil
}
