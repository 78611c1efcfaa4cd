package notify

import "os"

// ConfigFromEnv reads the NOTIFY_* environment variables documented in the
// README into a Config; everything else keeps its default.
func ConfigFromEnv() Config {
	return Config{
		PublicURL: os.Getenv("NOTIFY_PUBLIC_URL"),
	}
}
