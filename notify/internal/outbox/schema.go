package outbox

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Collection is the name of the outbox and message log collection. It is
// part of the public contract.
const Collection = "notifyMessages"

// Message statuses, persisted in notifyMessages.status; never renamed.
const (
	StatusQueued    = "queued"
	StatusSending   = "sending"
	StatusSent      = "sent"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	StatusSkipped   = "skipped"
)

// Categories, persisted in notifyMessages.category and notifyRules.category.
const (
	CategorySecurity      = "security"
	CategoryTransactional = "transactional"
	CategoryService       = "service"
	CategoryMarketing     = "marketing"
)

// Categories lists every category, mandatory ones first.
var Categories = []string{CategorySecurity, CategoryTransactional, CategoryService, CategoryMarketing}

// BodyMax bounds stored bodies: large enough for any email. Text fields are
// used on purpose: the dashboard's editor field (TinyMCE) rewrites raw HTML.
const BodyMax = 1 << 20

// SnapshotMax bounds the record snapshot (data) one message keeps. Every
// message of a write keeps its own copy, so a record's size is multiplied by
// the messages it queues; a message about a larger record is recorded
// failed with the reason instead, and keeps none. A shop's order is far
// below it (a customer's order is capped by the shop's hooks at about 15 KB).
const SnapshotMax = 64 << 10

// Limits of the stored text fields; Finalize truncates to them on a rune
// boundary.
const (
	toMax       = 500
	subjectMax  = 1000
	errorMax    = 5000
	providerMax = 500
	linkMax     = 2000
	variantMax  = 50
)

// NewCollection returns the notifyMessages collection: who may read what,
// its fields and the indexes the queue relies on. channelNames are the
// values of the channel select field.
func NewCollection(usersID, rulesID string, channelNames []string) *core.Collection {
	c := core.NewBaseCollection(Collection)
	own := "@request.auth.id != '' && user = @request.auth.id"
	c.ListRule = types.Pointer(own)
	c.ViewRule = types.Pointer(own)
	// Customers mark their inbox messages read; the plugin admits only readAt.
	c.UpdateRule = types.Pointer(own + " && channel = 'inbox'")
	c.Fields.Add(
		&core.RelationField{Name: "rule", CollectionId: rulesID, MaxSelect: 1},
		&core.TextField{Name: "template", Max: 100},
		&core.SelectField{Name: "channel", Required: true, MaxSelect: 1, Values: channelNames},
		&core.SelectField{Name: "category", MaxSelect: 1, Values: Categories},
		// Not cascading: a deleted customer's sent history stays, emptied
		// of personal data (notify's user delete hook).
		&core.RelationField{Name: "user", CollectionId: usersID, MaxSelect: 1},
		&core.TextField{Name: "to", Max: toMax},
		&core.TextField{Name: "subject", Max: subjectMax},
		&core.TextField{Name: "body", Max: BodyMax},
		// Internals: hidden fields are returned to superusers only.
		&core.TextField{Name: "html", Max: BodyMax, Hidden: true},
		&core.SelectField{Name: "status", Required: true, MaxSelect: 1,
			Values: []string{StatusQueued, StatusSending, StatusSent, StatusFailed, StatusCancelled, StatusSkipped}},
		&core.NumberField{Name: "attempts", OnlyInt: true},
		&core.DateField{Name: "runAt"},
		&core.DateField{Name: "sentAt"},
		&core.TextField{Name: "error", Max: errorMax, Hidden: true},
		&core.TextField{Name: "providerId", Max: providerMax, Hidden: true},
		&core.DateField{Name: "readAt"},
		&core.TextField{Name: "link", Max: linkMax},
		&core.TextField{Name: "sourceCollection", Max: 100},
		&core.TextField{Name: "sourceRecord", Max: 100},
		&core.JSONField{Name: "data", Hidden: true, MaxSize: BodyMax},
		&core.TextField{Name: "dedupeKey", Max: 100, Hidden: true},
		&core.DateField{Name: "leaseUntil", Hidden: true},
		// chain is the first message of an escalation: its steps share it.
		&core.TextField{Name: "chain", Max: 100, Hidden: true},
		// Measure: the A/B variant of the template that was sent, the first
		// open and click, and the original addresses of the signed links
		// (hidden: a click token names an index into it).
		&core.TextField{Name: "variant", Max: 50},
		&core.DateField{Name: "openedAt"},
		&core.DateField{Name: "clickedAt"},
		&core.JSONField{Name: "links", Hidden: true, MaxSize: BodyMax},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	AddIndexes(c)
	return c
}

// AddIndexes adds the queue's indexes to c (existing ones are replaced by
// name). Claiming is a range scan per lane (status, channel, runAt) and an
// expired-lease scan (status, leaseUntil), however many sent rows the log
// accumulates.
func AddIndexes(c *core.Collection) {
	c.AddIndex("idx_notifyMessages_due", false, "`status`, `runAt`", "")
	c.AddIndex("idx_notifyMessages_lane", false, "`status`, `channel`, `runAt`", "")
	c.AddIndex("idx_notifyMessages_lease", false, "`status`, `leaseUntil`", "")
	c.AddIndex("idx_notifyMessages_dedupe", true, "`dedupeKey`", "")
	c.AddIndex("idx_notifyMessages_user", false, "`user`, `created`", "")
	c.AddIndex("idx_notifyMessages_source", false, "`sourceCollection`, `sourceRecord`", "")
	c.AddIndex("idx_notifyMessages_chain", false, "`chain`", "`chain` != ''")
}
