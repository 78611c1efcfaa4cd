package notify

import (
	"os"
	"strings"
)

// ConfigFromEnv reads the NOTIFY_* environment variables documented in the
// README into a Config; everything else keeps its default.
func ConfigFromEnv() Config {
	return Config{
		PublicURL:             os.Getenv("NOTIFY_PUBLIC_URL"),
		VAPIDSubject:          strings.TrimSpace(os.Getenv("NOTIFY_VAPID_SUBJECT")), // a stray newline from an env file is no part of it
		PushAllowedOrigins:    splitList(os.Getenv("NOTIFY_WEBPUSH_ALLOWED_ORIGINS")),
		TelegramToken:         os.Getenv("NOTIFY_TELEGRAM_TOKEN"),
		TelegramAPIURL:        os.Getenv("NOTIFY_TELEGRAM_API_URL"),
		TelegramWebhookSecret: os.Getenv("NOTIFY_TELEGRAM_WEBHOOK_SECRET"),
	}
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
