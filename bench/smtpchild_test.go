package bench

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/tests"
)

// childEnv makes the test binary run an SMTP server instead of the tests.
const childEnv = "PBNOTIFY_BENCH_SMTP_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		serveSMTPChild()
		return
	}
	os.Exit(m.Run())
}

// smtpChild is an smtptest server in a child process, so that the CPU it
// spends (TLS handshakes, parsing) is not charged to the shop measured:
// a real provider bears it. PocketBase's mailer opens a session per email,
// the plugin keeps pooled ones; with the server in the process the hook
// would pay both ends of every handshake.
type smtpChild struct {
	Host string
	Port int
	// ClientTLS trusts the child's certificate (also added to benchRoots,
	// for PocketBase's mailer).
	ClientTLS *tls.Config

	in  *bufio.Writer
	out *bufio.Scanner
}

// startSMTPChild runs an smtptest server in a child process until the
// benchmark ends.
func startSMTPChild(b *testing.B) *smtpChild {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("smtp child: %v", err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	c := &smtpChild{in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
	if !c.out.Scan() {
		b.Fatalf("smtp child: no address: %v", c.out.Err())
	}
	if err := json.Unmarshal(c.out.Bytes(), c); err != nil {
		b.Fatalf("smtp child: %q: %v", c.out.Text(), err)
	}
	// Fetch the child's certificate as trustSMTP does, without a pool to
	// verify it by: it is our own child on loopback.
	conn, err := smtp.Dial(net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
	if err != nil {
		b.Fatalf("smtp child: dial: %v", err)
	}
	if err := conn.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		b.Fatalf("smtp child: starttls: %v", err)
	}
	st, _ := conn.TLSConnectionState()
	_ = conn.Quit()
	pool := x509.NewCertPool()
	pool.AddCert(st.PeerCertificates[0])
	benchRoots.AddCert(st.PeerCertificates[0])
	c.ClientTLS = &tls.Config{RootCAs: pool, ServerName: c.Host, MinVersion: tls.VersionTLS12}
	return c
}

// Wait blocks until the child's server has accepted at least n messages
// and returns how many it has.
func (c *smtpChild) Wait(b *testing.B, n int) int {
	b.Helper()
	fmt.Fprintf(c.in, "wait %d\n", n)
	if err := c.in.Flush(); err != nil {
		b.Fatalf("smtp child: %v", err)
	}
	if !c.out.Scan() {
		b.Fatalf("smtp child: no answer to wait %d: %v", n, c.out.Err())
	}
	got, err := strconv.Atoi(strings.TrimPrefix(c.out.Text(), "ok "))
	if err != nil || got < n {
		b.Fatalf("smtp child: wait %d: %q", n, c.out.Text())
	}
	return got
}

// Count returns how many messages the child's server has accepted.
func (c *smtpChild) Count(b *testing.B) int { b.Helper(); return c.Wait(b, 0) }

// shopWithChild starts a shop whose SMTP settings point at c. With
// noPlugin the plugin is left out and before (if any) binds hooks.
func shopWithChild(b *testing.B, c *smtpChild, noPlugin bool, cfg notify.Config, before func(*tests.TestApp)) *shoptest.Shop {
	b.Helper()
	cfg.EmailTLS = c.ClientTLS
	shop := shoptest.New(b, shoptest.Options{NoSMTP: true, NoPlugin: noPlugin, Config: cfg, BeforeServe: before})
	s := shop.App.Settings()
	s.SMTP.Enabled = true
	s.SMTP.Host = c.Host
	s.SMTP.Port = c.Port
	s.SMTP.Username = smtptest.Username
	s.SMTP.Password = smtptest.Password
	if err := shop.App.Save(s); err != nil {
		b.Fatal(err)
	}
	return shop
}

// serveSMTPChild is the child: it prints the server's address as JSON, then
// answers "wait N" lines on stdin with "ok COUNT" once COUNT ≥ N messages
// arrived, until stdin closes.
func serveSMTPChild() {
	srv := smtptest.Start(childTB{})
	addr, _ := json.Marshal(map[string]any{"Host": srv.Host, "Port": srv.Port})
	fmt.Println(string(addr))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(in.Text(), "wait "))
		if err != nil {
			log.Fatalf("smtp child: bad command %q", in.Text())
		}
		fmt.Printf("ok %d\n", len(srv.Wait(childTB{}, n, 10*time.Minute)))
	}
	srv.Close()
}

// childTB is the testing.TB smtptest needs, outside any test.
type childTB struct{ testing.TB }

func (childTB) Helper()                   {}
func (childTB) Cleanup(func())            {}
func (childTB) Fatal(args ...any)         { log.Fatal(args...) }
func (childTB) Fatalf(f string, a ...any) { log.Fatalf(f, a...) }
