package hooks

import (
	"strings"
	"time"
	_ "time/tzdata" // IANA names are checked the same on every host

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// HookUserTimeFields is the id of the hook that checks users.timezone and
// users.birthday.
const HookUserTimeFields = "__shopUserTimeFields__"

// bindProfile checks what a customer sets for the reminders: the timezone
// is an IANA name the reminders can compute with, the birthday a day that
// has been.
func bindProfile(app core.App) {
	app.OnRecordValidate("users").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookUserTimeFields,
		Func: func(e *core.RecordEvent) error {
			if err := checkTimeFields(e.Record); err != nil {
				return err
			}
			return e.Next()
		},
	})
}

func checkTimeFields(r *core.Record) error {
	errs := validation.Errors{}
	if r.Collection().Fields.GetByName("timezone") != nil {
		if tz := r.GetString("timezone"); tz != "" {
			// "Local" would be the server's own zone, whatever it is.
			if _, err := time.LoadLocation(tz); err != nil || tz == "Local" || strings.TrimSpace(tz) != tz {
				errs["timezone"] = validation.NewError("validation_timezone",
					"must be an IANA time zone such as Europe/Moscow or America/New_York")
			}
		}
	}
	if r.Collection().Fields.GetByName("birthday") != nil {
		if b := r.GetDateTime("birthday"); !b.IsZero() {
			if b.Time().Year() < 1900 || b.Time().After(time.Now().Add(24*time.Hour)) {
				errs["birthday"] = validation.NewError("validation_birthday", "must be a day between 1900 and today")
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
