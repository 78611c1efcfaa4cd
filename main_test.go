package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinaryLoadsJSHooks builds the shop binary and serves it with a
// pb_hooks dir whose route calls $notify.send: the binary loads JS hooks
// as PocketBase's own does, and $notify reaches the registered plugin (an
// unknown user is refused by notify.Send itself). Delivery from JS hooks
// is covered in-process by notify's TestJSHooksSend.
func TestBinaryLoadsJSHooks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: it builds and runs the shop binary (make test and CI run it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "shop")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	hooksDir := filepath.Join(dir, "pb_hooks")
	if err := os.Mkdir(hooksDir, 0o755); err != nil {
		t.Fatal(err)
	}
	hook := `routerAdd("GET", "/api/jscheck", (e) => {
	try {
		$notify.send({ user: "nosuchuser0000", template: "order.created", channels: ["email"] })
	} catch (err) {
		return e.json(200, { error: String(err) })
	}
	return e.json(200, { error: "" })
})`
	if err := os.WriteFile(filepath.Join(hooksDir, "check.pb.js"), []byte(hook), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	logged := func() string { b, _ := os.ReadFile(logs.Name()); return string(b) }
	serve := exec.CommandContext(ctx, bin, "serve", "--http", addr, "--dir", filepath.Join(dir, "pb_data"),
		"--hooksDir", hooksDir, "--hooksWatch=false")
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() { cancel(); <-exited }()

	// Wait for the server to answer; the deadline only bounds a broken start.
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/api/jscheck")
		if err == nil {
			var body struct{ Error string }
			err = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode != 200 || err != nil {
				t.Fatalf("GET /api/jscheck = %d (%v); want 200 from the pb_hooks route\n%s", res.StatusCode, err, logged())
			}
			if want := `there is no user "nosuchuser0000"`; !strings.Contains(body.Error, want) {
				t.Fatalf("$notify.send threw %q; want %q", body.Error, want)
			}
			return
		}
		select {
		case err := <-exited:
			exited <- err // for the deferred wait
			t.Fatalf("the binary exited: %v\n%s", err, logged())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the binary did not serve: %v\n%s", err, logged())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
