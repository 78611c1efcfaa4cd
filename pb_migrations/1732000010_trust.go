package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// shopRateLimits are the shop's default rate limits, per client IP, on top
// of PocketBase's own defaults (auth 2 per 3 s, any create 20 per 5 s,
// batch 3 per second, the whole API 300 per 10 s) and the plugin's
// (notify.RateLimitRules). Sign-up and order creation send email, so they
// are what a spammer would loop over.
var shopRateLimits = []core.RateLimitRule{
	{Label: "users:create", MaxRequests: 5, Duration: 60},
	{Label: "orders:create", MaxRequests: 10, Duration: 60},
	// The security emails, which the unverified-address cap lets through.
	{Label: "*:requestVerification", MaxRequests: 3, Duration: 60},
	{Label: "*:requestPasswordReset", MaxRequests: 3, Duration: 60},
	{Label: "*:requestOTP", MaxRequests: 3, Duration: 60},
	{Label: "*:requestEmailChange", MaxRequests: 3, Duration: 60},
	{Label: "*:auth", MaxRequests: 2, Duration: 3},
	{Label: "*:create", MaxRequests: 20, Duration: 5},
	{Label: "/api/batch", MaxRequests: 3, Duration: 1},
	{Label: "/api/", MaxRequests: 300, Duration: 10},
}

// Trust: rate limits on by default (changeable in Settings → Rate limits),
// and the plugin's tables and schema changes of this version (the message
// log keeps a deleted customer's history; the address cap table). Down is
// a no-op: the limits are the owner's to change in the dashboard.
func init() {
	m.Register(func(app core.App) error {
		if err := notify.InstallCollections(app, "users"); err != nil {
			return err
		}
		return notify.EnableRateLimits(app, append(shopRateLimits, notify.RateLimitRules()...)...)
	}, nil)
}
