package bench

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pocketbase/pocketbase/tools/types"
)

// cpuTime is the CPU time (user + system) the whole process has used so far:
// shop, load generator and protocol peers alike.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// signUp registers n customers (locale en), one per load client.
func signUp(shop *shoptest.Shop, n int) []shoptest.Customer {
	cs := make([]shoptest.Customer, n)
	for i := range cs {
		cs[i] = shop.SignUp(fmt.Sprintf("Customer %d", i), fmt.Sprintf("c%d@example.org", i), "en")
	}
	return cs
}

// placed is one order as its client saw it.
type placed struct {
	ID     string
	Number int
	At     time.Time // when the create response arrived
}

// placeOrders creates n orders through the REST API, one client per
// customer, each client waiting for its response before its next order. With
// rate 0 the clients go as fast as they can; otherwise an order is released
// every 1/rate seconds (a client that is still busy takes it late, as a
// real server's clients would queue). It returns the orders in the order
// their responses arrived.
func placeOrders(b *testing.B, shop *shoptest.Shop, cs []shoptest.Customer, n int, rate float64) []placed {
	b.Helper()
	item := shop.Item("Green tea", 2, 350)
	next := make(chan struct{}, n)
	if rate == 0 {
		for range n {
			next <- struct{}{}
		}
		close(next)
	} else {
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / rate))
			defer t.Stop()
			for range n {
				next <- struct{}{}
				<-t.C
			}
			close(next)
		}()
	}
	var (
		mu  sync.Mutex
		out = make([]placed, 0, n)
		wg  sync.WaitGroup
	)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				res := shop.Do("POST", "/api/collections/orders/records", c.Token, map[string]any{
					"customer": c.ID,
					"items":    []map[string]any{item},
				})
				at := time.Now()
				if res.Status != 200 {
					b.Errorf("order create = %d %s", res.Status, res.Body)
					return
				}
				var p placed
				if err := json.Unmarshal(res.Body, &p); err != nil {
					b.Errorf("order create: %v", err)
					return
				}
				p.At = at
				mu.Lock()
				out = append(out, p)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(out) != n {
		b.Fatalf("placed %d orders; want %d", len(out), n)
	}
	return out
}

// arrival is a message and when it reached the SMTP server.
type arrival struct {
	Msg smtptest.Message
	At  time.Time
}

// arrivals stamps messages as they reach an SMTP server. smtptest keeps no
// arrival times, so a goroutine blocks in Server.Wait for the next message
// and stamps what it finds when it wakes: no polling, and the stamp lags the
// server's acceptance by one goroutine wake-up.
type arrivals struct {
	done chan struct{}
	mu   sync.Mutex
	got  []arrival
}

// watchArrivals stamps messages from index from (those already there are
// not watched) until until have arrived or the server closes.
func watchArrivals(srv *smtptest.Server, from, until int) *arrivals {
	a := &arrivals{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		// Wait reports a timeout through Fatalf; here it ends the watch.
		defer func() { _ = recover() }()
		tb := quietTB{}
		seen := from
		for seen < until {
			msgs := srv.Wait(tb, seen+1, time.Hour)
			now := time.Now()
			if len(msgs) <= seen { // the server closed
				return
			}
			a.mu.Lock()
			for _, m := range msgs[seen:] {
				a.got = append(a.got, arrival{Msg: m, At: now})
			}
			a.mu.Unlock()
			seen = len(msgs)
		}
	}()
	return a
}

// wait blocks until the watch ends and returns what arrived; it fails the
// benchmark after timeout.
func (a *arrivals) wait(b *testing.B, timeout time.Duration) []arrival {
	b.Helper()
	select {
	case <-a.done:
	case <-time.After(timeout):
		a.mu.Lock()
		n := len(a.got)
		a.mu.Unlock()
		b.Fatalf("only %d messages arrived within %s", n, timeout)
	}
	return a.got
}

// quietTB lets smtptest.Server.Wait run outside the benchmark's goroutine:
// its Fatalf panics (recovered by the watcher) instead of calling FailNow.
type quietTB struct{ testing.TB }

func (quietTB) Helper()               {}
func (quietTB) Fatalf(string, ...any) { panic("smtptest wait ended") }

// waitDrained waits until the shop's outbox has no message queued or being
// sent, so that the CPU spent writing outcomes is charged to the round
// that caused it.
func waitDrained(b *testing.B, shop *shoptest.Shop, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var n int
		if err := shop.App.DB().NewQuery(`SELECT COUNT(*) FROM notifyMessages WHERE status IN ('queued', 'sending')`).Row(&n); err != nil {
			b.Fatalf("waitDrained: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("waitDrained: %d messages still queued or sending after %s", n, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// percentile returns the p-th percentile (0 < p < 100) of ds, in ms.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}

// dbTime parses a date field as PocketBase stores it.
func dbTime(b *testing.B, s string) time.Time {
	b.Helper()
	dt, err := types.ParseDateTime(s)
	if err != nil || dt.IsZero() {
		b.Fatalf("date %q: %v", s, err)
	}
	return dt.Time()
}
