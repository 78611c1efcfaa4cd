package notify

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// bindInboxRead lets a customer mark their own inbox messages read and
// change nothing else on them. The collection's update rule admits only
// the owner's inbox rows; this hook admits only readAt.
func (p *plugin) bindInboxRead() {
	p.app.OnRecordUpdateRequest(MessagesCollection).Bind(&hook.Handler[*core.RecordRequestEvent]{
		Id: HookInboxRead,
		Func: func(e *core.RecordRequestEvent) error {
			if e.HasSuperuserAuth() {
				return e.Next()
			}
			orig := e.Record.Original()
			for _, f := range e.Record.Collection().Fields {
				name := f.GetName()
				if name == "readAt" || name == "updated" {
					continue
				}
				if fmtValue(orig.Get(name)) != fmtValue(e.Record.Get(name)) {
					return e.ForbiddenError("Only readAt can be changed on a message.", nil)
				}
			}
			return e.Next()
		},
	})
}

func fmtValue(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}
