package notify

import (
	"fmt"

	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/channels/webhook"
	"github.com/pocketbase/pocketbase/core"
)

// setupReach registers the SMS and webhook channels. Both are always
// there: unconfigured, they skip their messages with the reason (so rules
// may name them before the shop signs up with a provider, and the owner
// sees what would have gone out); misconfigured, the shop refuses to start
// with a message that names the variable to fix.
func (p *plugin) setupReach() error {
	smsCh, err := sms.New(sms.Config{
		Provider:   p.cfg.SMSProvider,
		APIURL:     p.cfg.SMSAPIURL,
		Account:    p.cfg.SMSAccount,
		Token:      p.cfg.SMSToken,
		From:       p.cfg.SMSFrom,
		HTTPClient: p.cfg.SMSHTTPClient,
		Now:        p.cfg.Now,
	})
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	p.senders[sms.Name] = smsCh
	// The channel normalises the number (8 912 … → +7912…) and skips, with
	// the reason, one it cannot.
	p.addresses[sms.Name] = func(u *core.Record) (string, error) { return u.GetString("phone"), nil }

	hook, err := webhook.New(webhook.Config{
		URL:        p.cfg.WebhookURL,
		Secret:     p.cfg.WebhookSecret,
		HTTPClient: p.cfg.WebhookHTTPClient,
		Now:        p.cfg.Now,
	})
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	p.senders[webhook.Name] = hook
	// The shop's own systems need no address of the customer's. The log
	// names the receiver without its URL, which may carry a token and is
	// not for the customer's eyes.
	p.addresses[webhook.Name] = func(u *core.Record) (string, error) { return "the shop's webhook", nil }
	return nil
}
