package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/channels/webpush/pushtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

// With PocketBase's --encryptionEnv, a superuser's view collections over
// the plugin's secrets table and PocketBase's settings show neither the
// VAPID private key nor the SMTP password in clear, and pushes still go
// out after a restart.
func TestSecretsAreEncryptedAtRest(t *testing.T) {
	const env = "PBNOTIFY_TEST_ENCRYPTION_KEY"
	t.Setenv(env, "0123456789abcdef0123456789abcdef")
	svc := pushtest.New(t)
	shop := shoptest.New(t, shoptest.Options{EncryptionEnv: env, Config: notify.Config{
		VAPIDSubject: "mailto:shop@example.org", PushAllowedOrigins: []string{svc.URL},
	}})
	admin := shop.SuperuserToken()
	keys, err := notify.VAPIDKeys(shop.App)
	if err != nil {
		t.Fatal(err)
	}

	view := func(name, query string) string {
		t.Helper()
		shop.MustDo(200, "POST", "/api/collections", admin, map[string]any{"name": name, "type": "view", "viewQuery": query})
		return string(shop.MustDo(200, "GET", "/api/collections/"+name+"/records?perPage=100", admin, nil).Body)
	}
	secretsView := view("secretsPeek", "SELECT name AS id, value FROM _notifySecrets")
	if !strings.Contains(secretsView, "vapid.private") {
		t.Fatalf("the view over _notifySecrets = %s; want its rows", secretsView)
	}
	if strings.Contains(secretsView, keys.Private) {
		t.Errorf("the view over _notifySecrets shows the VAPID private key in clear: %s", secretsView)
	}
	if paramsView := view("paramsPeek", "SELECT id, value FROM _params"); strings.Contains(paramsView, smtptest.Password) {
		t.Errorf("the view over _params shows the SMTP password in clear: %s", paramsView)
	}

	anna := shop.SignUp("Anna", "anna@example.org", "en")
	if res := subscribe(t, shop, anna, svc.NewSubscription()); res.Status != 200 {
		t.Fatalf("subscribe = %d %s", res.Status, res.Body)
	}
	if err := shop.Restart(); err != nil {
		t.Fatal(err)
	}
	placeOrder(t, shop, anna)
	svc.WaitReceived(t, 1, 10*time.Second) // the push service checked the VAPID signature
	if got, err := notify.VAPIDKeys(shop.App); err != nil || got != keys {
		t.Errorf("VAPID keys after the restart = %v, %v; want the same pair", got, err)
	}
}
