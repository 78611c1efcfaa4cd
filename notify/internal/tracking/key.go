package tracking

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/pbnotify/pbnotify/notify/internal/secrets"
	"github.com/pocketbase/pocketbase/core"
)

// secretKey is the signing key's name in the secrets table, where it is
// kept (and, with --encryptionEnv, encrypted) with the plugin's other
// secrets, out of reach of every records API.
const secretKey = "tracking.key"

// Keys loads the shop's signer once and keeps it. The key is generated on
// first use; of two processes generating one at once, the first insert
// wins and both read it back. It is safe for concurrent use.
type Keys struct {
	mu     sync.Mutex
	signer *Signer
}

// Signer returns the shop's signer, loading or generating its key on the
// first call. A failed read is returned and tried again next time.
func (k *Keys) Signer(app core.App) (*Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.signer != nil {
		return k.signer, nil
	}
	s, err := loadSigner(app)
	if err != nil {
		return nil, err
	}
	k.signer = s
	return s, nil
}

func loadSigner(app core.App) (*Signer, error) {
	stored, err := secrets.Read(app, secretKey)
	if err != nil {
		return nil, fmt.Errorf("tracking key: %w", err)
	}
	if stored == "" {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("tracking key: %w", err)
		}
		if err := secrets.InsertIfAbsent(app, secretKey, base64.RawURLEncoding.EncodeToString(fresh)); err != nil {
			return nil, fmt.Errorf("tracking key: %w", err)
		}
		if stored, err = secrets.Read(app, secretKey); err != nil {
			return nil, fmt.Errorf("tracking key: %w", err)
		}
	}
	key, err := base64.RawURLEncoding.DecodeString(stored)
	if err != nil {
		return nil, fmt.Errorf("tracking key: the stored key is not base64url: %w", err)
	}
	return NewSigner(key)
}

// EnsureKey generates the signing key if the shop has none. It belongs in
// a migration (notify.InstallCollections), so that sending a message never
// has to write a secret; Keys still generates one if it is missing.
func EnsureKey(app core.App) error {
	_, err := loadSigner(app)
	return err
}
