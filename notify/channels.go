package notify

import (
	"net/http"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/pushsub"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// runningChannels are the customer channels this shop can deliver on now:
// email while SMTP is enabled in the dashboard, Telegram with a bot token,
// web push with a VAPID subject, SMS with a provider, the inbox always,
// and every channel an app added (Config.Channels). The webhook, which
// tells the shop's own systems, is no customer's channel.
func (p *plugin) runningChannels() []string {
	out := []string{}
	for _, name := range p.customerChannels() {
		switch sender := p.senders[name]; {
		case sender == nil:
			continue
		case name == channels.Email:
			if _, builtin := sender.(*settingsMailer); builtin && !p.settings.get().SMTP.Enabled {
				continue
			}
		case name == channels.WebPush:
			if _, builtin := sender.(*pushsub.Channel); builtin && p.cfg.VAPIDSubject == "" {
				continue
			}
		}
		out = append(out, name)
	}
	return out
}

// channelsResponse is what GET /api/notify/channels returns.
type channelsResponse struct {
	// Channels this shop delivers to customers on, e.g.
	// ["email", "webpush", "inbox"].
	Channels []string `json:"channels"`
}

// bindChannelsRoute serves GET /api/notify/channels to anyone: the
// storefront offers only what is listed (no "Connect Telegram" without a
// bot).
func (p *plugin) bindChannelsRoute() {
	p.app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookChannelsRoute,
		Func: func(se *core.ServeEvent) error {
			se.Router.GET("/api/notify/channels", func(e *core.RequestEvent) error {
				return e.JSON(http.StatusOK, channelsResponse{Channels: p.runningChannels()})
			})
			return se.Next()
		},
	})
}
