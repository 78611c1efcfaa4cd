package notify

import (
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// BrandCollection is the settings record the email layout is branded
// with: the logo, the postal address, contacts and support links.
const BrandCollection = render.BrandCollection

// bindBrand forgets the cached brand record after any committed change of
// it, so the next email shows the new logo without a restart.
func (p *plugin) bindBrand() {
	reset := &hook.Handler[*core.RecordEvent]{
		Id: HookBrand,
		Func: func(e *core.RecordEvent) error {
			p.brand.Reset()
			return e.Next()
		},
	}
	p.app.OnRecordAfterCreateSuccess(BrandCollection).Bind(reset)
	p.app.OnRecordAfterUpdateSuccess(BrandCollection).Bind(reset)
	p.app.OnRecordAfterDeleteSuccess(BrandCollection).Bind(reset)
}
