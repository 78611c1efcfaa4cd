//go:debug x509usefallbackroots=1

package bench

import (
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

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// The hand-written hook sends with PocketBase's own mailer, which verifies
// the SMTP server's certificate against the system roots and takes no pool.
// smtptest's certificate is self-signed, so this test binary replaces its
// system roots with benchRoots (the go:debug line above makes the fallback
// roots win over the system's), and trustSMTP adds each server's
// certificate to them. Nothing in the bench talks TLS to anything else.
var benchRoots = x509.NewCertPool()

func init() { x509.SetFallbackRoots(benchRoots) }

// trustSMTP adds srv's certificate to the roots PocketBase's mailer
// verifies against. Call it before anything sends to srv: a CertPool must
// not change while a handshake reads it.
func trustSMTP(b *testing.B, srv *smtptest.Server) {
	b.Helper()
	c, err := smtp.Dial(net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port)))
	if err != nil {
		b.Fatalf("trustSMTP: dial: %v", err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.ClientTLS); err != nil {
		b.Fatalf("trustSMTP: starttls: %v", err)
	}
	st, ok := c.TLSConnectionState()
	if !ok || len(st.PeerCertificates) == 0 {
		b.Fatal("trustSMTP: no certificate")
	}
	benchRoots.AddCert(st.PeerCertificates[0])
	_ = c.Quit()
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
// It returns the shop and a count of sends that failed (the hook logs them
// and lets the order stand, as such hooks do).
func handHookShop(b *testing.B) (*shoptest.Shop, *atomic.Int64) {
	b.Helper()
	failures := new(atomic.Int64)
	shop := shoptest.New(b, shoptest.Options{NoPlugin: true, BeforeServe: func(app *tests.TestApp) {
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
	}})
	trustSMTP(b, shop.SMTP)
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
