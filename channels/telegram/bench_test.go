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
// against the limit-enforcing fake, on the wall clock. The workers act as
// the dispatcher: a deferred message is queued again for its turn. The
// interesting numbers are msgs/s (how close to Telegram's 30/s we get),
// 429s/op (should be 0) and sends/msg (calls to Send per message delivered:
// 1 plus its deferrals); ns/op is dominated by deliberate waiting.
func BenchmarkThroughput(b *testing.B) {
	const messages, chats, workers = 300, 30, 32
	srv := telegramtest.New(b)
	c, _ := newTestChannel(b, srv)
	ctx := context.Background()

	var elapsed time.Duration
	var failed, sends int
	round := 0
	for b.Loop() {
		round++
		start := time.Now()
		jobs := make(chan int, messages)
		var pending sync.WaitGroup
		for i := range messages {
			pending.Add(1)
			jobs <- i
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range workers {
			wg.Go(func() {
				for i := range jobs {
					m := &channels.Message{
						ID:       strconv.Itoa(round) + "-" + strconv.Itoa(i),
						To:       strconv.Itoa(2000 + i%chats),
						Telegram: "benchmark <b>" + strconv.Itoa(i) + "</b>",
					}
					_, err := c.Send(ctx, m)
					mu.Lock()
					sends++
					mu.Unlock()
					if d, ok := channels.RetryAfterDelay(err); ok {
						time.AfterFunc(d, func() { jobs <- i })
						continue
					}
					if err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
					pending.Done()
				}
			})
		}
		pending.Wait()
		close(jobs)
		wg.Wait()
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*messages)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(srv.TooMany())/float64(b.N), "429s/op")
	b.ReportMetric(float64(sends)/float64(b.N*messages), "sends/msg")
	if failed > 0 {
		b.Errorf("%d sends failed", failed)
	}
}
