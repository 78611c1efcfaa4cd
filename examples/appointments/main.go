// Command appointments is a worked example of the notify plugin's date
// rules in a Go PocketBase app of its own: a salon's appointments, with
// email reminders 24 hours and 2 hours before each one, in the client's
// timezone, moved when the appointment moves and cancelled when it is
// cancelled.
//
// Everything the example needs is in migrations.go: the plugin's
// collections, the appointments collection, a reminder template and the
// two rules. No scheduler, no trigger table: a date rule's reminder is an
// ordinary notifyMessages row with a future runAt, written in the same
// transaction as the appointment and moved with it.
//
//	go run ./examples/appointments serve
//
// Set the SMTP server in the dashboard (Settings → Mail settings), sign a
// client up, and book:
//
//	POST /api/collections/appointments/records
//	{"client": "<user id>", "service": "Haircut", "startsAt": "2026-06-04 09:00:00Z", "status": "booked"}
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
)

func main() {
	app := pocketbase.New()
	if err := register(app); err != nil {
		log.Fatal(err)
	}
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
