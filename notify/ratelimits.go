package notify

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// RateLimitRules are the rate limits the plugin's own routes want, in
// PocketBase's settings format (Settings → Rate limits in the dashboard).
// They count requests per client IP, as every PocketBase rate limit does;
// superusers are never limited.
//
//   - /api/notify/ (every plugin route: the push key and subscribe, the
//     Telegram link, ...): 60 requests a minute.
//   - /api/notify/telegram/webhook: 600 in 10 seconds, since every update
//     of the bot comes from Telegram's few addresses.
func RateLimitRules() []core.RateLimitRule {
	return []core.RateLimitRule{
		{Label: "/api/notify/", MaxRequests: 60, Duration: 60},
		{Label: "/api/notify/telegram/webhook", MaxRequests: 600, Duration: 10},
	}
}

// EnableRateLimits switches PocketBase's rate limits on and adds each of
// rules whose label and audience the settings do not have yet; a rule the
// owner already has, perhaps with other numbers, is left as it is. It
// saves the settings. Meant for a migration: the owner changes or turns
// the limits off in the dashboard afterwards.
//
// The added rules go first: of several path prefix rules PocketBase
// applies the first listed, so "/api/notify/" must come before the
// default "/api/" to count.
func EnableRateLimits(app core.App, rules ...core.RateLimitRule) error {
	settings := app.Settings()
	have := map[string]bool{}
	for _, r := range settings.RateLimits.Rules {
		have[r.Label+"@@"+r.Audience] = true
	}
	var added []core.RateLimitRule
	for _, r := range rules {
		if !have[r.Label+"@@"+r.Audience] {
			added = append(added, r)
			have[r.Label+"@@"+r.Audience] = true
		}
	}
	settings.RateLimits.Rules = append(added, settings.RateLimits.Rules...)
	settings.RateLimits.Enabled = true
	if err := app.Save(settings); err != nil {
		return fmt.Errorf("EnableRateLimits: %w", err)
	}
	return nil
}
