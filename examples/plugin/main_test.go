package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the example app: run with
// PLUGIN_EXAMPLE_ARGS set, it is `plugin <args>`, so the test runs this
// package's real main without building another binary.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("PLUGIN_EXAMPLE_ARGS"); ok {
		os.Args = append([]string{"plugin"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestREADMEShowsThisFile keeps the README's plugin example true: it is
// this file, byte for byte.
func TestREADMEShowsThisFile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Using the plugin in your own PocketBase app\n")
	if !ok {
		t.Fatal(`README has no "## Using the plugin in your own PocketBase app" section`)
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("the README's plugin section has no Go code block")
	}
	block, _, _ = strings.Cut(block, "```\n")
	if block != string(src) {
		t.Errorf("the README's plugin example differs from examples/plugin/main.go; paste the file into the README")
	}
}

// TestExampleServes runs the example app twice on one data directory: the
// plugin's migration creates its collections before the app's own seeding
// migration, a new user gets the seeded welcome message, and the second
// start applies the plugin's migration again without duplicating anything.
func TestExampleServes(t *testing.T) {
	dir := t.TempDir()
	for start := 1; start <= 2; start++ {
		base, stop := serve(t, dir)
		run(t, "superuser upsert admin@example.org adminpass123 --dir="+dir)
		token := superuserToken(t, base)

		var tpls struct{ TotalItems int }
		get(t, base+"/api/collections/notifyTemplates/records?filter="+url.QueryEscape(`key="user.welcome"`), token, &tpls)
		if tpls.TotalItems != 1 {
			t.Fatalf("start %d: %d user.welcome templates, want 1", start, tpls.TotalItems)
		}
		email := fmt.Sprintf("anna%d@example.org", start)
		body := fmt.Sprintf(`{"email":%q,"password":"secret12345","passwordConfirm":"secret12345","name":"Anna"}`, email)
		resp, err := http.Post(base+"/api/collections/users/records", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("start %d: sign-up: %s", start, resp.Status)
		}
		// The inbox message is delivered by the dispatcher: wait for it
		// (the process is real, so this polls the real clock).
		deadline := time.Now().Add(30 * time.Second)
		for {
			var msgs struct {
				Items []struct{ Status, Channel string }
			}
			get(t, base+"/api/collections/notifyMessages/records?perPage=50&filter="+url.QueryEscape(`template="user.welcome" && channel="inbox"`), token, &msgs)
			sent := 0
			for _, m := range msgs.Items {
				if m.Status == "sent" {
					sent++
				}
			}
			if sent == start {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("start %d: welcome inbox messages %+v, want %d sent", start, msgs.Items, start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		stop()
	}
}

func run(t *testing.T, args string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PLUGIN_EXAMPLE_ARGS="+args)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("plugin %s: %v\n%s", args, err, out)
	}
}

func serve(t *testing.T, dir string) (base string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var log bytes.Buffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PLUGIN_EXAMPLE_ARGS=serve --http="+addr+" --dir="+dir)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	base = "http://" + addr
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(base + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, stop
			}
		}
		select {
		case <-ctx.Done():
			stop()
			t.Fatalf("the example did not serve: %v\n%s", err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func superuserToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/collections/_superusers/auth-with-password", "application/json",
		strings.NewReader(`{"identity":"admin@example.org","password":"adminpass123"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("superuser auth: %s %v", resp.Status, err)
	}
	return out.Token
}

func get(t *testing.T, u, token string, into any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}
