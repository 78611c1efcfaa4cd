package notify

import (
	"fmt"

	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// customerDeletedReason is the error of a message cancelled because its
// recipient's account was deleted.
const customerDeletedReason = "the customer's account was deleted"

// bindUserDelete keeps the message log when a customer is deleted, in the
// delete's transaction: their queued messages become cancelled with the
// reason, and every message of theirs stays for the shop's statistics with
// the personal data emptied (to, subject, body, html, data) and no user.
// Clearing the user here also leaves PocketBase's own cascade nothing to
// do, whatever the relation's cascade setting (InstallCollections turns it
// off, so the rows stay even without this hook).
func (p *plugin) bindUserDelete() {
	p.app.OnRecordDeleteExecute(p.cfg.UsersCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookUserDelete,
		// After the system handler (99), which opened the transaction and
		// set e.App to it, and before the row and its references go.
		Priority: 100,
		Func: func(e *core.RecordEvent) error {
			params := dbx.Params{"user": e.Record.Id, "now": outbox.DBTime(p.cfg.Now()), "why": customerDeletedReason}
			db := e.App.NonconcurrentDB()
			if _, err := db.NewQuery(`UPDATE {{notifyMessages}}
				SET [[status]] = 'cancelled', [[error]] = {:why}, [[updated]] = {:now}
				WHERE [[user]] = {:user} AND [[status]] = 'queued'`).Bind(params).Execute(); err != nil {
				return fmt.Errorf("notify: cancelling the customer's queued messages: %w", err)
			}
			if _, err := db.NewQuery(`UPDATE {{notifyMessages}}
				SET [[to]] = '', [[subject]] = '', [[body]] = '', [[html]] = '', [[data]] = NULL,
					[[user]] = '', [[updated]] = {:now}
				WHERE [[user]] = {:user}`).Bind(params).Execute(); err != nil {
				return fmt.Errorf("notify: emptying the customer's message history: %w", err)
			}
			return e.Next()
		},
	})
}

// keepHistoryOnUserDelete turns off the cascade delete of notifyMessages.user,
// which earlier versions created: deleting a customer then deleted their
// whole message log. It is part of InstallCollections' upgrade.
func keepHistoryOnUserDelete(app core.App) error {
	coll, err := app.FindCollectionByNameOrId(MessagesCollection)
	if err != nil {
		return fmt.Errorf("InstallCollections: %w", err)
	}
	f, ok := coll.Fields.GetByName("user").(*core.RelationField)
	if !ok || !f.CascadeDelete {
		return nil
	}
	f.CascadeDelete = false
	if err := app.Save(coll); err != nil {
		return fmt.Errorf("InstallCollections: keeping the message log of deleted customers: %w", err)
	}
	return nil
}
