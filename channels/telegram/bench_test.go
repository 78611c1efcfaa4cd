package telegram

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
)

// BenchmarkThroughput pushes 300 messages to 30 chats through the limiter
// against the limit-enforcing fake. The interesting numbers are msgs/s (how
// close to Telegram's 30/s we get) and 429s/op (should be 0); ns/op is
// dominated by deliberate waiting.
func BenchmarkThroughput(b *testing.B) {
	const messages, chats, workers = 300, 30, 32
	srv := telegramtest.New(b)
	c, _ := newTestChannel(b, srv)
	ctx := context.Background()

	var elapsed time.Duration
	var failed int
	for b.Loop() {
		start := time.Now()
		jobs := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range workers {
			wg.Go(func() {
				for i := range jobs {
					m := &channels.Message{To: strconv.Itoa(2000 + i%chats), Telegram: "benchmark <b>" + strconv.Itoa(i) + "</b>"}
					if _, err := c.Send(ctx, m); err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
				}
			})
		}
		for i := range messages {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*messages)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(srv.TooMany())/float64(b.N), "429s/op")
	if failed > 0 {
		b.Errorf("%d sends failed", failed)
	}
}
