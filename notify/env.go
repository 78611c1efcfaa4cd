package notify

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ConfigFromEnv reads the NOTIFY_* environment variables documented in the
// README into a Config; everything else keeps its default. A variable that
// is set to something unusable is an error that names it.
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		PublicURL:             os.Getenv("NOTIFY_PUBLIC_URL"),
		DefaultLocale:         strings.TrimSpace(os.Getenv("NOTIFY_DEFAULT_LOCALE")),
		Shop:                  Shop{RecordLink: strings.TrimSpace(os.Getenv("NOTIFY_RECORD_LINK"))},
		VAPIDSubject:          strings.TrimSpace(os.Getenv("NOTIFY_VAPID_SUBJECT")), // a stray newline from an env file is no part of it
		PushAllowedOrigins:    splitList(os.Getenv("NOTIFY_WEBPUSH_ALLOWED_ORIGINS")),
		TelegramToken:         os.Getenv("NOTIFY_TELEGRAM_TOKEN"),
		TelegramAPIURL:        os.Getenv("NOTIFY_TELEGRAM_API_URL"),
		TelegramWebhookSecret: os.Getenv("NOTIFY_TELEGRAM_WEBHOOK_SECRET"),
		SMSProvider:           strings.TrimSpace(os.Getenv("NOTIFY_SMS_PROVIDER")),
		SMSAPIURL:             strings.TrimSpace(os.Getenv("NOTIFY_SMS_API_URL")),
		SMSAccount:            strings.TrimSpace(os.Getenv("NOTIFY_SMS_ACCOUNT")),
		SMSToken:              strings.TrimSpace(os.Getenv("NOTIFY_SMS_TOKEN")),
		SMSFrom:               strings.TrimSpace(os.Getenv("NOTIFY_SMS_FROM")),
		WebhookURL:            strings.TrimSpace(os.Getenv("NOTIFY_WEBHOOK_URL")),
		WebhookSecret:         strings.TrimSpace(os.Getenv("NOTIFY_WEBHOOK_SECRET")),
		Timezone:              strings.TrimSpace(os.Getenv("NOTIFY_TIMEZONE")),
	}
	var err error
	if cfg.Workers, err = envCount("NOTIFY_WORKERS"); err != nil {
		return cfg, err
	}
	if cfg.EmailConnections, err = envCount("NOTIFY_EMAIL_CONNECTIONS"); err != nil {
		return cfg, err
	}
	clicks, err := envSwitch("NOTIFY_TRACK_CLICKS", true)
	if err != nil {
		return cfg, err
	}
	cfg.NoClickTracking = !clicks
	if cfg.TrackOpens, err = envSwitch("NOTIFY_TRACK_OPENS", false); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// envSwitch reads an on/off variable; unset is def.
func envSwitch(name string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(name))) {
	case "":
		return def, nil
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return def, fmt.Errorf("notify: %s is %q; use on or off", name, os.Getenv(name))
}

// maxParallel bounds the counts taken from the environment: far more than
// one SQLite database can feed, and a typo such as 4000 is caught.
const maxParallel = 256

// envCount reads a count of parallel sends; unset is 0 (the default).
func envCount(name string) (int, error) {
	s := strings.TrimSpace(os.Getenv(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxParallel {
		return 0, fmt.Errorf("notify: %s is %q; it must be a whole number from 1 to %d", name, s, maxParallel)
	}
	return n, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
