package main

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The whole setup is one migration: run once, on the first start.
func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		// The client's timezone: reminders are timed and written in it.
		if users.Fields.GetByName("timezone") == nil {
			users.Fields.Add(&core.TextField{Name: "timezone", Max: 64})
			if err := app.Save(users); err != nil {
				return err
			}
		}
		if err := notify.InstallCollections(app, "users"); err != nil {
			return err
		}

		// A client sees and books only their own appointments, and may
		// move or cancel them.
		own := "@request.auth.id != '' && client = @request.auth.id"
		appts := core.NewBaseCollection("appointments")
		appts.ListRule, appts.ViewRule = types.Pointer(own), types.Pointer(own)
		appts.CreateRule, appts.UpdateRule = types.Pointer(own), types.Pointer(own)
		appts.Fields.Add(
			&core.RelationField{Name: "client", CollectionId: users.Id, MaxSelect: 1, Required: true},
			&core.TextField{Name: "service", Required: true, Max: 200},
			&core.DateField{Name: "startsAt", Required: true},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"booked", "cancelled"}},
		)
		if err := app.Save(appts); err != nil {
			return err
		}

		templates, err := app.FindCollectionByNameOrId(notify.TemplatesCollection)
		if err != nil {
			return err
		}
		for _, t := range []map[string]any{
			{"locale": "en", "subject": "Reminder: {{.Record.service}}, {{datetime .Record.startsAt}}",
				"text": "Hello {{.User.Name}},\n\nyour {{.Record.service}} is on {{datetime .Record.startsAt}}.\nSee you!"},
			{"locale": "ru", "subject": "Напоминание: {{.Record.service}}, {{datetime .Record.startsAt}}",
				"text": "Здравствуйте, {{.User.Name}}!\n\nВаша запись «{{.Record.service}}» — {{datetime .Record.startsAt}}.\nЖдём вас!"},
		} {
			rec := core.NewRecord(templates)
			rec.Load(t)
			rec.Set("key", "appointment.reminder")
			rec.Set("active", true)
			if err := app.Save(rec); err != nil {
				return err
			}
		}

		rules, err := app.FindCollectionByNameOrId(notify.RulesCollection)
		if err != nil {
			return err
		}
		for _, r := range []struct{ name, offset string }{
			{"Appointment: 24 hours before", "-24h"},
			{"Appointment: 2 hours before", "-2h"},
		} {
			rec := core.NewRecord(rules)
			rec.Load(map[string]any{
				"name": r.name, "active": true, "collection": "appointments",
				"event": "date", "dateField": "startsAt", "offset": r.offset,
				"condition": `status = "booked"`, // cancelled appointments get none
				"recipient": "client", "template": "appointment.reminder",
				"channels": []string{"email"}, "category": "service",
			})
			if err := app.Save(rec); err != nil {
				return err
			}
		}
		return nil
	}, nil, "1750000000_appointments.go") // named: see the README's plugin section
}
