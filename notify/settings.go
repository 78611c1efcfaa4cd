package notify

import (
	"sync"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// settingsCopy is the dashboard settings as the plugin's goroutines read
// them. Reading app.Settings() fields directly races with an admin saving
// the settings: PocketBase reloads them in place under a lock that a
// plain field read does not take. A clone is made under that lock, once,
// and again after every reload, so a send pays for no copy.
type settingsCopy struct {
	app core.App

	mu  sync.Mutex
	cur *core.Settings
	gen uint64 // bumped by each reload; a clone made before one is not kept
}

func newSettingsCopy(app core.App) *settingsCopy {
	s := &settingsCopy{app: app}
	app.OnSettingsReload().Bind(&hook.Handler[*core.SettingsReloadEvent]{
		Id: HookSettingsReload,
		Func: func(e *core.SettingsReloadEvent) error {
			err := e.Next()
			s.mu.Lock()
			s.cur, s.gen = nil, s.gen+1
			s.mu.Unlock()
			return err
		},
	})
	return s
}

// get returns the current settings; callers must not change them.
func (s *settingsCopy) get() *core.Settings {
	s.mu.Lock()
	cur, gen := s.cur, s.gen
	s.mu.Unlock()
	if cur != nil {
		return cur
	}
	clone, err := s.app.Settings().Clone()
	if err != nil { // only a settings value JSON cannot encode
		return s.app.Settings()
	}
	s.mu.Lock()
	if s.gen == gen {
		s.cur = clone
	}
	s.mu.Unlock()
	return clone
}
