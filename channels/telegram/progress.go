package telegram

import (
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// A long text goes out as several messages, at most one per turn of the
// per-chat limit. If part 2 of 3 has to wait for its turn, hits a 429 or a
// network error, the dispatcher retries the whole Send; without this log the
// user would get part 1 twice (and a message waiting for its turn would
// never get past it). The log is in memory only: after a restart a retry
// starts over, which is the best we can do without storing message ids.

// progressTTL bounds how long an interrupted send is remembered. Dispatcher
// retries come well within it; anything later starts over.
const progressTTL = 6 * time.Hour

type progress struct {
	sent    int    // parts delivered so far
	chatID  int64  // chat they went to (after a migration, the new one)
	firstID string // message id of part 1, the provider id
	at      time.Time
}

type progressLog struct {
	now       func() time.Time
	mu        sync.Mutex
	entries   map[partsKey]progress
	lastSweep time.Time
}

// partsKey identifies one message and its exact content, so a message
// that was re-rendered differently is not resumed with stale parts. A
// message without an ID is known by its content alone: two identical ones
// may then continue each other's parts, which delivers the same texts.
type partsKey struct {
	id     string
	digest uint64
}

// turnKey names the message for the rate limiter's reservations.
func (k partsKey) turnKey() string {
	if k.id != "" {
		return "id " + k.id
	}
	return fmt.Sprintf("content %x", k.digest)
}

func newProgressLog(now func() time.Time) *progressLog {
	return &progressLog{now: now, entries: map[partsKey]progress{}}
}

func keyOf(m *channels.Message, parts []string) partsKey {
	h := fnv.New64a()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(m.To)
	for _, p := range parts {
		write(p)
	}
	for _, b := range m.Buttons {
		write(b.Text)
		write(b.URL)
	}
	return partsKey{id: m.ID, digest: h.Sum64()}
}

// load returns what an earlier attempt delivered, or a zero progress.
func (l *progressLog) load(k partsKey) progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.entries[k]
	if !ok || l.now().Sub(p.at) > progressTTL {
		return progress{}
	}
	return p
}

func (l *progressLog) store(k partsKey, p progress) {
	now := l.now()
	p.at = now
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > progressTTL/6 {
		for key, e := range l.entries {
			if now.Sub(e.at) > progressTTL {
				delete(l.entries, key)
			}
		}
		l.lastSweep = now
	}
	l.entries[k] = p
}

func (l *progressLog) forget(k partsKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, k)
}
