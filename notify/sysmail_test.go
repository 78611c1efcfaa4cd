package notify_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// PocketBase's own account emails through the engine (issue 13, item 1):
// each flow is requested through the REST API, its email arrives at the
// SMTP server from the auth.* template in the customer's language, the
// token or code in it completes the flow through the REST API, and the
// stored row keeps no token or code in any column.

// secretsTable is where the plugin keeps the token or code of a queued
// account email (notify/internal/sysmail).
const secretsTable = "_notifySysmailSecrets"

var (
	linkRE = regexp.MustCompile(`https?://\S+/_/#/auth/(confirm-[a-z-]+)/([A-Za-z0-9_.-]+)`)
	codeRE = regexp.MustCompile(`\b\d{8}\b`)
)

// actionToken is the token of the action link in an email's text.
func actionToken(t *testing.T, text, action string) string {
	t.Helper()
	m := linkRE.FindStringSubmatch(text)
	if m == nil || m[1] != action {
		t.Fatalf("the email has no %s link:\n%s", action, text)
	}
	return m[2]
}

// rawRow reads every column of a notifyMessages row with SQL, as a
// superuser's SQL view or a backup would show it.
func rawRow(t *testing.T, shop *shoptest.Shop, id string) map[string]string {
	t.Helper()
	rows, err := shop.App.DB().NewQuery("SELECT * FROM {{notifyMessages}} WHERE [[id]] = {:id}").Bind(dbx.Params{"id": id}).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("no notifyMessages row %s", id)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, c := range cols {
		out[c] = vals[i].String
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertNoSecret fails when any column of the row, or the secrets table,
// still holds one of secrets.
func assertNoSecret(t *testing.T, shop *shoptest.Shop, id string, secrets ...string) {
	t.Helper()
	row := rawRow(t, shop, id)
	if len(row) < 10 {
		t.Fatalf("read only %d columns of the row: %v", len(row), row)
	}
	for col, v := range row {
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("column %s of message %s keeps the secret %q:\n%s", col, id, s, v)
			}
		}
	}
	var n int
	if err := shop.App.DB().NewQuery("SELECT COUNT(*) FROM {{" + secretsTable + "}}").Row(&n); err != nil {
		t.Fatalf("reading the secrets table: %v", err)
	}
	if n != 0 {
		t.Errorf("the secrets table still holds %d secrets after the message left the queue", n)
	}
}

// accountMail waits for the account email with template key to be sent
// and for it to arrive, and returns its row and its text part.
func accountMail(t *testing.T, shop *shoptest.Shop, key, to, subject string) (*core.Record, string) {
	t.Helper()
	row := shop.WaitMessage("template = {:t} && to = {:to}", map[string]any{"t": key, "to": to}, notify.StatusSent)
	if row.GetString("category") != notify.CategorySecurity || row.GetString("channel") != "email" {
		t.Errorf("%s: category %q channel %q; want security by email", key, row.GetString("category"), row.GetString("channel"))
	}
	if !strings.Contains(row.GetString("body"), "•••") {
		t.Errorf("%s: the logged body does not show the masked secret:\n%s", key, row.GetString("body"))
	}
	m := emailTo(t, shop, to, subject)
	pocketBaseOwnNotSent(t, shop)
	return row, part(t, m, "text/plain")
}

// pocketBaseOwnNotSent fails if PocketBase sent its own email as well
// (the test app's mailer catches every email PocketBase sends itself).
func pocketBaseOwnNotSent(t *testing.T, shop *shoptest.Shop) {
	t.Helper()
	for _, m := range shop.App.TestMailer.Messages() {
		t.Errorf("PocketBase sent its own email too: %q to %v", m.Subject, m.To)
	}
}

var accountSubjects = map[string]map[string]string{
	"en": {
		notify.TemplateVerification: "Confirm your email address", notify.TemplatePasswordReset: "Reset your password",
		notify.TemplateEmailChange: "Confirm your new email address", notify.TemplateOTP: "Your sign-in code",
		notify.TemplateLoginAlert: "New sign-in to your account",
	},
	"ru": {
		notify.TemplateVerification: "Подтвердите адрес почты", notify.TemplatePasswordReset: "Сброс пароля",
		notify.TemplateEmailChange: "Подтвердите новый адрес почты", notify.TemplateOTP: "Код для входа",
		notify.TemplateLoginAlert: "Новый вход в вашу учётную запись",
	},
}

func TestAccountEmailVerification(t *testing.T) {
	t.Parallel()
	for _, locale := range []string{"en", "ru"} {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			shop := shoptest.New(t, shoptest.Options{})
			anna := shop.SignUp("Anna", "anna@example.org", locale)
			shop.MustDo(204, "POST", "/api/collections/users/request-verification", "", map[string]any{"email": anna.Email})

			row, text := accountMail(t, shop, notify.TemplateVerification, anna.Email, accountSubjects[locale][notify.TemplateVerification])
			token := actionToken(t, text, "confirm-verification")
			shop.MustDo(204, "POST", "/api/collections/users/confirm-verification", "", map[string]any{"token": token})
			user, err := shop.App.FindRecordById("users", anna.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !user.Verified() {
				t.Error("the link from the email did not verify the address")
			}
			assertNoSecret(t, shop, row.Id, token)
		})
	}
}

func TestAccountEmailPasswordReset(t *testing.T) {
	t.Parallel()
	for _, locale := range []string{"en", "ru"} {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			shop := shoptest.New(t, shoptest.Options{})
			anna := shop.SignUp("Anna", "anna@example.org", locale)
			shop.MustDo(204, "POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": anna.Email})

			row, text := accountMail(t, shop, notify.TemplatePasswordReset, anna.Email, accountSubjects[locale][notify.TemplatePasswordReset])
			if !strings.Contains(text, "30") {
				t.Errorf("the email does not say how long the link works (30 minutes):\n%s", text)
			}
			// A burst of requests from an attacker gets the victim no more
			// mail: PocketBase's own throttle (one reset email per account
			// every 2 minutes) still sees each email as sent.
			for range 5 {
				shop.MustDo(204, "POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": anna.Email})
			}
			if n := len(shop.Messages("template = {:t}", map[string]any{"t": notify.TemplatePasswordReset})); n != 1 {
				t.Errorf("a burst of reset requests queued %d messages; want 1", n)
			}
			token := actionToken(t, text, "confirm-password-reset")
			shop.MustDo(204, "POST", "/api/collections/users/confirm-password-reset", "", map[string]any{
				"token": token, "password": "n3w-s3cret-pass", "passwordConfirm": "n3w-s3cret-pass",
			})
			shop.MustDo(200, "POST", "/api/collections/users/auth-with-password", "", map[string]any{
				"identity": anna.Email, "password": "n3w-s3cret-pass",
			})
			assertNoSecret(t, shop, row.Id, token)
			// The reset link went by email alone, though Anna has an inbox.
			if n := len(shop.Messages("template = {:t} && channel != 'email'", map[string]any{"t": notify.TemplatePasswordReset})); n != 0 {
				t.Errorf("the reset link was queued on %d other channels", n)
			}
		})
	}
}

func TestAccountEmailEmailChange(t *testing.T) {
	t.Parallel()
	for _, locale := range []string{"en", "ru"} {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			shop := shoptest.New(t, shoptest.Options{})
			anna := shop.SignUp("Anna", "anna@example.org", locale)
			const newEmail = "anna.new@example.org"
			shop.MustDo(204, "POST", "/api/collections/users/request-email-change", anna.Token, map[string]any{"newEmail": newEmail})

			// To the NEW address: whoever confirms it owns it.
			row, text := accountMail(t, shop, notify.TemplateEmailChange, newEmail, accountSubjects[locale][notify.TemplateEmailChange])
			if !strings.Contains(text, newEmail) {
				t.Errorf("the email does not name the new address:\n%s", text)
			}
			for _, m := range shop.Messages("template = {:t}", map[string]any{"t": notify.TemplateEmailChange}) {
				if m.GetString("to") != newEmail {
					t.Errorf("the confirmation link was queued to %q; want only %s", m.GetString("to"), newEmail)
				}
			}
			token := actionToken(t, text, "confirm-email-change")
			shop.MustDo(204, "POST", "/api/collections/users/confirm-email-change", "", map[string]any{
				"token": token, "password": "password123",
			})
			user, err := shop.App.FindRecordById("users", anna.ID)
			if err != nil {
				t.Fatal(err)
			}
			if user.Email() != newEmail {
				t.Errorf("email after confirming = %q; want %s", user.Email(), newEmail)
			}
			assertNoSecret(t, shop, row.Id, token)
		})
	}
}

// enableOTP turns on PocketBase's one-time code sign-in for users.
func enableOTP(t *testing.T, shop *shoptest.Shop) {
	t.Helper()
	coll, err := shop.App.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	coll.OTP.Enabled = true
	if err := shop.App.Save(coll); err != nil {
		t.Fatal(err)
	}
}

func TestAccountEmailOTP(t *testing.T) {
	t.Parallel()
	for _, locale := range []string{"en", "ru"} {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			shop := shoptest.New(t, shoptest.Options{})
			enableOTP(t, shop)
			anna := shop.SignUp("Anna", "anna@example.org", locale)
			otpID := shop.MustDo(200, "POST", "/api/collections/users/request-otp", "", map[string]any{"email": anna.Email}).String("otpId")

			row, text := accountMail(t, shop, notify.TemplateOTP, anna.Email, accountSubjects[locale][notify.TemplateOTP])
			code := codeRE.FindString(text)
			if code == "" {
				t.Fatalf("the email has no 8-digit code:\n%s", text)
			}
			res := shop.MustDo(200, "POST", "/api/collections/users/auth-with-otp", "", map[string]any{"otpId": otpID, "password": code})
			if res.String("token") == "" {
				t.Errorf("signing in with the code gave no token: %s", res.Body)
			}
			// PocketBase records where the code went, and a sign-in with it
			// then verifies that address, as with its own email.
			user, err := shop.App.FindRecordById("users", anna.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !user.Verified() {
				t.Error("signing in with the emailed code did not verify the address (the OTP's sentTo was not recorded)")
			}
			assertNoSecret(t, shop, row.Id, code)
		})
	}
}

// A link or code is the answer to the customer's own request: their
// preferences do not silence it; the login alert respects them.
func TestAccountEmailIgnoresPreferencesLoginAlertDoesNot(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, anna.Token, map[string]any{
		"notifyPrefs": map[string]any{"email": map[string]any{"security": false}},
	})
	shop.MustDo(204, "POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": anna.Email})
	_, text := accountMail(t, shop, notify.TemplatePasswordReset, anna.Email, "Reset your password")
	actionToken(t, text, "confirm-password-reset")

	signInFrom(t, shop, anna.Email, "password123", "Firefox/130 (new laptop)")
	inbox := shop.WaitMessage("template = {:t} && channel = 'inbox'", map[string]any{"t": notify.TemplateLoginAlert}, notify.StatusSent)
	if inbox.GetString("user") != anna.ID {
		t.Errorf("inbox alert user = %q; want %q", inbox.GetString("user"), anna.ID)
	}
	if n := len(shop.Messages("template = {:t} && channel = 'email' && status = 'sent'", map[string]any{"t": notify.TemplateLoginAlert})); n != 0 {
		t.Errorf("the login alert went by email, which Anna turned off for security messages")
	}
}

// signInFrom signs in with a browser's User-Agent: PocketBase tells
// devices apart by IP and User-Agent.
func signInFrom(t *testing.T, shop *shoptest.Shop, email, password, userAgent string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"identity": email, "password": password})
	req, err := http.NewRequest("POST", shop.URL+"/api/collections/users/auth-with-password", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("sign-in from %q = %d; want 200", userAgent, res.StatusCode)
	}
}

func TestLoginAlertEveryChannelInTheCustomersLanguage(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, nil)
	anna := shop.SignUp("Анна", "anna@example.org", "ru")
	bob := shop.SignUp("Bob", "bob@example.org", "en")
	const annaChat, bobChat = 5551301, 5551302
	linkTelegram(t, shop, bot, anna, annaChat)
	linkTelegram(t, shop, bot, bob, bobChat)

	// The same device again (SignUp signed in with Go's User-Agent) is
	// not news.
	shop.MustDo(200, "POST", "/api/collections/users/auth-with-password", "", map[string]any{"identity": anna.Email, "password": "password123"})

	signInFrom(t, shop, anna.Email, "password123", "Mozilla/5.0 (Android 14) Firefox/130")
	signInFrom(t, shop, bob.Email, "password123", "Mozilla/5.0 (iPhone) Safari/17")

	for _, c := range []struct {
		who    shoptest.Customer
		chat   int64
		locale string
		device string
	}{{anna, annaChat, "ru", "Android 14"}, {bob, bobChat, "en", "iPhone"}} {
		shop.WaitMessage("template = {:t} && user = {:u} && channel = 'telegram'",
			map[string]any{"t": notify.TemplateLoginAlert, "u": c.who.ID}, notify.StatusSent)
		tg := lastTo(bot, c.chat)
		title := map[string]string{"ru": "Новый вход в учётную запись", "en": "New sign-in to your account"}[c.locale]
		if !strings.Contains(tg.Plain, title) || !strings.Contains(tg.Plain, c.device) {
			t.Errorf("%s's Telegram alert = %q; want %q naming the %s device", c.who.Email, tg.Plain, title, c.device)
		}
		m := emailTo(t, shop, c.who.Email, accountSubjects[c.locale][notify.TemplateLoginAlert])
		if text := part(t, m, "text/plain"); !strings.Contains(text, c.device) || !strings.Contains(text, "127.0.0.1") {
			t.Errorf("%s's alert email does not name the device and IP:\n%s", c.who.Email, text)
		}
		inbox := shop.WaitMessage("template = {:t} && user = {:u} && channel = 'inbox'",
			map[string]any{"t": notify.TemplateLoginAlert, "u": c.who.ID}, notify.StatusSent)
		if inbox.GetString("category") != notify.CategorySecurity {
			t.Errorf("alert category = %q; want security", inbox.GetString("category"))
		}
	}
	if n := len(shop.Messages("template = {:t} && user = {:u} && channel = 'email'",
		map[string]any{"t": notify.TemplateLoginAlert, "u": anna.ID})); n != 1 {
		t.Errorf("Anna got %d email alerts; want 1 (the same device again is not news)", n)
	}
	// PocketBase's own English alert does not go out as well.
	pocketBaseOwnNotSent(t, shop)
}

// A superuser browsing a queued account email does not see its token: the
// row holds only a reference to it.
func TestAccountEmailQueuedRowHidesTheToken(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{DisableDispatcher: true}})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(204, "POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": anna.Email})
	row := shop.WaitMessage("template = {:t}", map[string]any{"t": notify.TemplatePasswordReset}, notify.StatusQueued)

	var secret string
	if err := shop.App.DB().NewQuery("SELECT [[data]] FROM {{" + secretsTable + "}}").Row(&secret); err != nil {
		t.Fatalf("the queued message's secret is not kept: %v", err)
	}
	var values map[string]string
	if err := json.Unmarshal([]byte(secret), &values); err != nil || values["token"] == "" || !strings.Contains(values["link"], values["token"]) {
		t.Fatalf("kept secret = %s (%v); want the token and the link", secret, err)
	}
	api := shop.MustDo(200, "GET", "/api/collections/notifyMessages/records/"+row.Id, admin, nil)
	if strings.Contains(string(api.Body), values["token"]) {
		t.Errorf("a superuser reads the token of a queued message through the API:\n%s", api.Body)
	}
	for col, v := range rawRow(t, shop, row.Id) {
		if strings.Contains(v, values["token"]) {
			t.Errorf("column %s of the queued row holds the token", col)
		}
	}
	// Deleting the message deletes its secret too.
	shop.MustDo(204, "DELETE", "/api/collections/notifyMessages/records/"+row.Id, admin, nil)
	var n int
	if err := shop.App.DB().NewQuery("SELECT COUNT(*) FROM {{" + secretsTable + "}}").Row(&n); err != nil || n != 0 {
		t.Errorf("after deleting the message the secrets table holds %d (%v); want 0", n, err)
	}
}

// A code that expired while the mail server was down is not sent late:
// the message is cancelled, and its secret deleted.
func TestAccountEmailExpiredBeforeSending(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	enableOTP(t, shop)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSent)
	shop.SMTP.FailNext(1, 451, "try again later")
	shop.MustDo(200, "POST", "/api/collections/users/request-otp", "", map[string]any{"email": anna.Email})
	// The first attempt fails and waits for its retry on the plugin's clock.
	shop.WaitMessage("template = {:t} && attempts = 1", map[string]any{"t": notify.TemplateOTP}, notify.StatusQueued)
	shop.Clock.Advance(4 * time.Minute) // PocketBase's codes work 3 minutes
	row := shop.WaitMessage("template = {:t}", map[string]any{"t": notify.TemplateOTP}, notify.StatusCancelled)
	if !strings.Contains(row.GetString("error"), "expired") {
		t.Errorf("cancel reason = %q; want it to say the code expired", row.GetString("error"))
	}
	for _, m := range shop.SMTP.Messages() {
		if strings.Contains(m.Header("Subject"), "sign-in code") {
			t.Errorf("the expired code was sent")
		}
	}
	assertNoSecret(t, shop, row.Id)
}

// A shop whose template is gone still lets customers reset their
// password: PocketBase sends its own email.
func TestAccountEmailFallsBackToPocketBase(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	tpls, err := shop.App.FindAllRecords(notify.TemplatesCollection, dbx.HashExp{"key": notify.TemplatePasswordReset})
	if err != nil || len(tpls) == 0 {
		t.Fatalf("seeded %s templates: %d (%v)", notify.TemplatePasswordReset, len(tpls), err)
	}
	for _, r := range tpls {
		r.Set("active", false)
		if err := shop.App.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	shop.MustDo(204, "POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": anna.Email})
	// PocketBase's own email goes to the test app's mailer.
	deadline := time.Now().Add(10 * time.Second)
	for shop.App.TestMailer.TotalSend() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if shop.App.TestMailer.TotalSend() != 1 {
		t.Fatalf("PocketBase sent %d emails of its own; want its reset email", shop.App.TestMailer.TotalSend())
	}
	m := shop.App.TestMailer.LastMessage()
	if !strings.Contains(m.Subject, "Reset your Test Shop password") || !strings.Contains(m.HTML, "confirm-password-reset/") {
		t.Errorf("PocketBase's own email = %q:\n%s", m.Subject, m.HTML)
	}
	if n := len(shop.Messages("template = {:t}", map[string]any{"t": notify.TemplatePasswordReset})); n != 0 {
		t.Errorf("%d messages queued without an active template", n)
	}
}

// A shop that points the collection's mail template at its own page gets
// that link in its email, as PocketBase would have sent it.
func TestAccountEmailKeepsTheShopsOwnLink(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	coll, err := shop.App.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	coll.ResetPasswordTemplate.Body = `<p><a href="{APP_URL}/#/reset?token={TOKEN}&amp;from=mail">Reset</a></p>`
	if err := shop.App.Save(coll); err != nil {
		t.Fatal(err)
	}
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(204, "POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": anna.Email})
	row, text := accountMail(t, shop, notify.TemplatePasswordReset, anna.Email, "Reset your password")
	m := regexp.MustCompile(`http://shop\.test/#/reset\?token=([A-Za-z0-9_.-]+)&from=mail`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the email does not carry the shop's own reset link:\n%s", text)
	}
	shop.MustDo(204, "POST", "/api/collections/users/confirm-password-reset", "", map[string]any{
		"token": m[1], "password": "n3w-s3cret-pass", "passwordConfirm": "n3w-s3cret-pass",
	})
	assertNoSecret(t, shop, row.Id, m[1])
}

// An app's own mailer hooks (Go or pb_hooks) still run before the plugin
// replaces PocketBase's send, and what they change goes out.
func TestAccountEmailAppHandlersRunFirst(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{BeforeServe: func(app *tests.TestApp) {
		app.OnMailerRecordPasswordResetSend("users").BindFunc(func(e *core.MailerRecordEvent) error {
			e.Message.To = []mail.Address{{Address: "support-copy@example.org"}}
			return e.Next()
		})
	}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(204, "POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": anna.Email})
	_, text := accountMail(t, shop, notify.TemplatePasswordReset, "support-copy@example.org", "Reset your password")
	actionToken(t, text, "confirm-password-reset")
}
