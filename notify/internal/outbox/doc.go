// Package outbox is the notification queue: the notifyMessages collection
// used as a transactional outbox and as the message log.
//
// A message goes through three stages, each with one name:
//
//   - Message: what a producer enqueues (Insert), inside the transaction of
//     the write it is about, so both commit or neither does.
//   - Job: a message claimed for one attempt (Claim), leased to this process
//     and fenced by its attempt number.
//   - Outcome: what the attempt decided (sent, skipped, failed, cancelled,
//     retry later, or moved to another channel), written back by Finalize
//     only if the row still holds that attempt.
//
// The Dispatcher runs the loop: one lane per channel, each with its own
// workers, so a slow provider delays only its own channel; a lane claims no
// more than it can start, and the leases of everything in flight are renewed
// while it runs, so a slow send is never claimed twice. The dispatcher knows
// nothing of rules, templates or providers: it hands each Job to a Deliver
// func and records what that returns.
//
// Every decision that depends on the clock takes now from Config.Now, so
// tests move a clock instead of sleeping.
package outbox
