//go:debug x509usefallbackroots=1

package bench

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	htmltemplate "html/template"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// The hand-written hook sends with PocketBase's own mailer, which verifies
// the SMTP server's certificate against the system roots and takes no pool.
// smtptest's certificate is self-signed, so this test binary replaces its
// system roots with benchRoots (the go:debug line above makes the fallback
// roots win over the system's), and startSMTPChild adds each server's
// certificate to them. Nothing in the bench talks TLS to anything else.
var benchRoots = x509.NewCertPool()

func init() { x509.SetFallbackRoots(benchRoots) }

// sessionCPU is this process's CPU per bare SMTP session with srv as
// PocketBase's mailer opens one for each email (connect, STARTTLS against
// the system roots, AUTH PLAIN, QUIT), the client's end only: the part of
// the hand-written hook's cost that the plugin's pooled connections do not
// pay per message.
func sessionCPU(b *testing.B, srv *smtpChild, n int) time.Duration {
	b.Helper()
	addr := net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port))
	cpu0 := cpuTime(b)
	for range n {
		c, err := smtp.Dial(addr)
		if err != nil {
			b.Fatalf("sessionCPU: %v", err)
		}
		if err := c.StartTLS(&tls.Config{ServerName: srv.Host}); err != nil {
			b.Fatalf("sessionCPU: starttls: %v", err)
		}
		if err := c.Auth(smtp.PlainAuth("", smtptest.Username, smtptest.Password, srv.Host)); err != nil {
			b.Fatalf("sessionCPU: auth: %v", err)
		}
		_ = c.Quit()
	}
	return (cpuTime(b) - cpu0) / time.Duration(n)
}

// The confirmation a shop owner writes by hand: an HTML and a text body
// from html/template and text/template, parsed once at start.
var (
	hookHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<p>Hello, {{.Name}}!</p>
<p>Thank you for your order! We have received order <strong>#{{.Number}}</strong>.</p>
<table>{{range .Items}}<tr><td>{{.Name}} × {{.Qty}}</td><td>{{.Price}} {{$.Currency}}</td></tr>
{{end}}<tr><td>Total</td><td>{{.Total}} {{.Currency}}</td></tr></table>`))
	hookText = texttemplate.Must(texttemplate.New("text").Parse(`Hello, {{.Name}}!

Thank you for your order! We have received order #{{.Number}}.
{{range .Items}}- {{.Name}} × {{.Qty}} — {{.Price}} {{$.Currency}}
{{end}}Total: {{.Total}} {{.Currency}}
`))
)

// handHookShop starts the shop without the plugin, plus what shop owners
// write by hand instead (PocketBase issue #5653): an
// OnRecordAfterCreateSuccess hook on orders that renders the confirmation
// and sends it with PocketBase's mailer before the create request returns.
// It sends to srv, and returns the shop and a count of sends that failed
// (the hook logs them and lets the order stand, as such hooks do).
func handHookShop(b *testing.B, srv *smtpChild) (*shoptest.Shop, *atomic.Int64) {
	b.Helper()
	failures := new(atomic.Int64)
	shop := shopWithChild(b, srv, true, notify.Config{}, func(app *tests.TestApp) {
		// The test app diverts PocketBase's mailer to an in-memory one; an
		// owner's shop sends for real.
		app.OnMailerSend().UnbindAll()
		app.OnRecordAfterCreateSuccess("orders").BindFunc(func(e *core.RecordEvent) error {
			if err := sendConfirmation(e.App, e.Record); err != nil {
				failures.Add(1)
				e.App.Logger().Error("order confirmation", "error", err)
			}
			return e.Next()
		})
	})
	return shop, failures
}

// sendConfirmation is the body of the hand-written hook.
func sendConfirmation(app core.App, order *core.Record) error {
	user, err := app.FindRecordById("users", order.GetString("customer"))
	if err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	var items []struct {
		Name  string  `json:"name"`
		Qty   float64 `json:"qty"`
		Price float64 `json:"price"`
	}
	if err := order.UnmarshalJSONField("items", &items); err != nil {
		return fmt.Errorf("items: %w", err)
	}
	data := map[string]any{
		"Name": user.GetString("name"), "Number": order.GetInt("number"), "Items": items,
		"Total": order.GetFloat("total"), "Currency": order.GetString("currency"),
	}
	var html, text strings.Builder
	if err := hookHTML.Execute(&html, data); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	if err := hookText.Execute(&text, data); err != nil {
		return fmt.Errorf("text: %w", err)
	}
	meta := app.Settings().Meta
	err = app.NewMailClient().Send(&mailer.Message{
		From:    mail.Address{Name: meta.SenderName, Address: meta.SenderAddress},
		To:      []mail.Address{{Name: user.GetString("name"), Address: user.Email()}},
		Subject: fmt.Sprintf("Order #%d received", order.GetInt("number")),
		HTML:    html.String(),
		Text:    text.String(),
	})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}
