package notify

import (
	"fmt"
	"strings"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/notify/internal/audience"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pocketbase/pocketbase/core"
)

// unverifiedCapReason is the skip reason of a message stopped by the cap
// on unverified addresses.
const unverifiedCapReason = "the address is not verified and already got its one message of the day that is not about its own order or payment (a cap against sign-ups with someone else's address)"

// addressCapped is the reason job may not go to addr, or "": an address
// nobody has proven — an email address its user has not verified, any
// phone number — gets at most one message a day that is not about the
// recipient's own doing (audience.Exempt), however many accounts name it.
// Telegram chats, push devices and the inbox are proven by the customer's
// own action and are not capped, nor are staff, whom only a superuser
// marks.
func (p *plugin) addressCapped(job outbox.Job, user *core.Record, addr string) (string, error) {
	if addr == "" || (job.Channel != channels.Email && job.Channel != sms.Name) {
		return "", nil
	}
	// Staff are marked by superusers only: their addresses are the shop's.
	if user != nil && user.GetBool(StaffField) {
		return "", nil
	}
	if job.Channel == channels.Email && user != nil && user.Verified() && strings.EqualFold(strings.TrimSpace(addr), user.Email()) {
		return "", nil
	}
	m := audience.Message{ID: job.ID, Channel: job.Channel, Category: job.Category,
		User: job.User, SourceCollection: job.SourceCollection, SourceRecord: job.SourceRecord}
	if audience.Exempt(m, p.cfg.UsersCollection) {
		return "", nil
	}
	ok, err := audience.TakeDailySlot(p.app, audience.Key(job.Channel, addr), job.ID, p.cfg.Now())
	if err != nil {
		return "", fmt.Errorf("the unverified address cap: %w", err)
	}
	if !ok {
		return unverifiedCapReason, nil
	}
	return "", nil
}
