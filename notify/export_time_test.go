package notify

import (
	"context"

	"github.com/pocketbase/pocketbase/core"
)

// WorkNow delivers every message of app's plugin that is due by its clock,
// synchronously (outbox.Dispatcher.Work): tests move the clock and call it
// instead of waiting for the dispatcher.
func WorkNow(app core.App) (int, error) {
	p := app.Store().Get(pluginStoreKey).(*plugin)
	return p.disp.Work(context.Background())
}
