package notify

// Hook ids: every handler the plugin binds carries one of these, so an app
// can Unbind it (app.OnRecordCreateExecute().Unbind(notify.HookEnqueue)).
// One id may name handlers on several hooks that do one job together.
const (
	// HookEnqueue opens a transaction around every record write a rule
	// watches and inserts the write's messages in it (the transactional
	// outbox), on create, update and delete.
	HookEnqueue = "__notifyEnqueue__"

	// HookWake tells the dispatcher, once a write committed, which lanes got
	// messages and when they are due; on a failed write it forgets them.
	HookWake = "__notifyWake__"

	// HookReload loads the rules at bootstrap and again after every change
	// to notifyRules, and forgets compiled templates after every change to
	// notifyTemplates.
	HookReload = "__notifyReload__"

	// HookValidateTemplate refuses a template that does not parse or does
	// not render against a sample record.
	HookValidateTemplate = "__notifyValidateTemplate__"

	// HookValidateRule refuses a rule that would fail at send time, and
	// clears its problem flag once it validates.
	HookValidateRule = "__notifyValidateRule__"

	// HookDispatcher starts the dispatcher when the app serves and stops it,
	// within the shutdown grace, when the app terminates.
	HookDispatcher = "__notifyDispatcher__"

	// HookRetry makes "set status to queued" an admin's retry: attempts,
	// error and lease start afresh and the dispatcher is woken.
	HookRetry = "__notifyRetry__"

	// HookRuleDelete cancels a deleted rule's queued messages in the
	// delete's transaction.
	HookRuleDelete = "__notifyRuleDelete__"

	// HookSchemaGuard refuses collection and field changes that would
	// break an active rule.
	HookSchemaGuard = "__notifySchemaGuard__"

	// HookChannelValues adds the registered channel names to the select
	// fields that hold channel names, at bootstrap and serve.
	HookChannelValues = "__notifyChannelValues__"

	// HookInboxRead lets a customer set readAt on their own inbox messages
	// and change nothing else on them.
	HookInboxRead = "__notifyInboxRead__"

	// HookPreferences validates the users' notification preferences.
	HookPreferences = "__notifyPreferences__"

	// HookRoutes serves the superusers' template preview and test send.
	HookRoutes = "__notifyRoutes__"

	// HookConsole adds the Notifications page to the dashboard (a UI
	// extension) and serves its routes under /api/notify/console/.
	HookConsole = "__notifyConsole__"

	// HookTelegram serves the Telegram link and webhook routes and runs the
	// bot's updates (webhook or long polling) while the app serves.
	HookTelegram = "__notifyTelegram__"

	// HookPushRoutes serves the web push key and subscribe routes.
	HookPushRoutes = "__notifyPushRoutes__"

	// HookSecurityAlerts queues auth.password-changed and
	// auth.email-changed (the latter to the old address too) in the
	// transaction of a write that changes a user's password or email.
	HookSecurityAlerts = "__notifySecurityAlerts__"

	// HookSysmail sends PocketBase's own emails to the users collection
	// (verification, password reset, email change, OTP, new sign-in
	// alert) through the outbox, from the auth.* templates.
	HookSysmail = "__notifySysmail__"

	// HookBrand forgets the cached notifyBrand record (the email layout's
	// logo and contacts) after it changes.
	HookBrand = "__notifyBrand__"

	// HookTrackingRoutes serves the signed links (/r/{token}) and the
	// one-click unsubscribe (/api/notify/unsubscribe/{token}).
	HookTrackingRoutes = "__notifyTrackingRoutes__"

	// HookSettingsReload forgets the plugin's copy of the dashboard
	// settings after PocketBase reloads them (an admin saved them).
	HookSettingsReload = "__notifySettingsReload__"

	// HookUserDelete, in the transaction of a customer's delete, cancels
	// their queued messages and empties the personal data of the rest,
	// which stay in the log.
	HookUserDelete = "__notifyUserDelete__"

	// HookChannelsRoute serves GET /api/notify/channels: the customer
	// channels this shop runs, for anyone.
	HookChannelsRoute = "__notifyChannelsRoute__"

	// HookTimezone refuses a users.timezone that is not an IANA timezone.
	HookTimezone = "__notifyTimezone__"

	// HookDateBackfill schedules a date rule, when it is saved active, for
	// the records already there, in the save's transaction.
	HookDateBackfill = "__notifyDateBackfill__"
)
