// Type declarations of $notify, the pbnotify binding of JS hooks
// (pb_hooks/*.pb.js). Copy this file next to your hooks and reference it
// under PocketBase's own declarations:
//
//   /// <reference path="../pb_data/types.d.ts" />
//   /// <reference path="./notify.d.ts" />

interface NotifyMessage {
  /** The recipient: a users record id, or the record itself (e.auth). */
  user: string | core.Record
  /** The key of an active notifyTemplates record, e.g. "user.login-code". */
  template: string
  /** Channels to send on; one message on each the user can receive now. */
  channels: Array<"email" | "telegram" | "webpush" | "inbox" | "sms" | "webhook" | string>
  /** What the template sees as .Data, e.g. {{.Data.code}}. Must be JSON. */
  data?: { [key: string]: any }
  /** Which of the user's preferences apply. Default "transactional". */
  category?: "security" | "transactional" | "service" | "marketing"
  /** A Go duration after which the message is due, e.g. "10m", "72h". */
  delay?: string
  /** A second send with the same key, user and channel queues nothing. */
  dedupeKey?: string
}

declare namespace $notify {
  /**
   * Queues a template for a user on the listed channels, like notify.Send
   * in Go. Throws when the user, the active template or a channel does not
   * exist. Inside a record hook pass the hook's e.app, so the message
   * commits or rolls back with the write (writing through $app while the
   * write's transaction is open would wait forever).
   */
  function send(message: NotifyMessage, app?: CoreApp): void
}
