// A stand-in for the desktop's notification daemon, so a test can see the
// notifications Chromium really shows and click them.
//
// Chromium on Linux shows web notifications through the freedesktop
// notification service (org.freedesktop.Notifications on the session D-Bus)
// when one is running at startup, also in headless mode. This module starts
// a private dbus-daemon, owns that name on it and records every Notify call.
// click() sends ActionInvoked(id, "default"), exactly what a desktop sends
// when the user clicks a notification, so Chromium dispatches a genuine
// `notificationclick` to the service worker, one that is allowed to focus or
// open windows (a script-constructed NotificationEvent is not).
//
// Launch the browser with `env: center.env` after startNotificationCenter()
// resolves: Chromium looks for the service only when it starts.
//
// Needs /usr/bin/dbus-daemon (Debian package dbus-daemon).
//
// Spec: https://specifications.freedesktop.org/notification-spec/latest/

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from './dbus.mjs';

const NAME = 'org.freedesktop.Notifications';
const PATH = '/org/freedesktop/Notifications';
const DBUS_DAEMON = process.env.DBUS_DAEMON_BIN || '/usr/bin/dbus-daemon';

// Why a notification closed (spec, NotificationClosed).
export const CloseReason = { EXPIRED: 1, DISMISSED: 2, CLOSED_BY_CALL: 3 };

/**
 * @typedef {object} ShownNotification
 * @property {number}   id
 * @property {string}   appName   "Chromium"
 * @property {string}   summary   the notification's title
 * @property {string}   body      as Chromium sent it (it prepends the site's origin)
 * @property {string[]} actions   [key, label, key, label, …]
 * @property {object}   hints
 * @property {number}   replaces  the id it replaced (same tag), or 0
 * @property {boolean}  open      false once closed
 * @property {number|null} closeReason
 */

/**
 * Starts a private session bus with a fake notification daemon on it.
 * @returns {Promise<NotificationCenter>}
 *
 * @typedef {object} NotificationCenter
 * @property {{DBUS_SESSION_BUS_ADDRESS: string}} env  give this to the browser
 * @property {ShownNotification[]} all   every notification ever shown, oldest first
 * @property {() => ShownNotification[]} open  those still open
 * @property {(predicate: (n: ShownNotification) => boolean, opts?: {timeoutMs?: number}) => Promise<ShownNotification>} waitFor
 * @property {(id: number, action?: string) => void} click  the user clicks it (action "default": the notification itself)
 * @property {(id: number) => void} dismiss  the user closes it
 * @property {() => Promise<void>} stop
 */
export async function startNotificationCenter() {
  if (!existsSync(DBUS_DAEMON)) {
    throw new Error(`${DBUS_DAEMON} is missing: install it with "apt-get install -y dbus-daemon"`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'shop-e2e-dbus-'));
  const socket = path.join(dir, 'bus');
  const config = path.join(dir, 'session.conf');
  // A bus of our own: no service activation, nobody else's daemons.
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );

  const daemon = spawn(DBUS_DAEMON, ['--config-file', config, '--nofork', '--nopidfile', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killDaemon = () => daemon.kill('SIGKILL');
  process.once('exit', killDaemon);

  let conn;
  const cleanup = async () => {
    conn?.close();
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((r) => daemon.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    process.removeListener('exit', killDaemon);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const address = await new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`dbus-daemon did not start: ${err}`)), 10_000);
      daemon.stdout.setEncoding('utf8').on('data', (chunk) => {
        out += chunk;
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.split('\n')[0].trim());
        }
      });
      daemon.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
      daemon.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      daemon.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dbus-daemon exited with code ${code}: ${err}`));
      });
    });

    conn = await connect(address);
    const center = new Center(conn, address, cleanup);
    conn.export(PATH, NAME, center.methods());
    await conn.requestName(NAME);
    return center;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

class Center {
  constructor(conn, address, cleanup) {
    this.conn = conn;
    this.env = { DBUS_SESSION_BUS_ADDRESS: address };
    this.all = [];
    this.nextId = 1;
    this.waiters = new Set();
    this.cleanup = cleanup;
  }

  methods() {
    return {
      // What Chromium needs to use the daemon: actions (for clicks) and a
      // plain-text body.
      GetCapabilities: { inSignature: '', outSignature: 'as', handler: () => ['actions', 'body'] },
      GetServerInformation: {
        inSignature: '',
        outSignature: 'ssss',
        handler: () => ['shop-e2e', 'pbnotify', '1.0', '1.2'],
      },
      Notify: {
        inSignature: 'susssasa{sv}i',
        outSignature: 'u',
        handler: (appName, replaces, icon, summary, body, actions, hints) => {
          const old = replaces && this.all.find((n) => n.id === replaces && n.open);
          if (old) old.open = false;
          const id = old ? replaces : this.nextId++;
          const note = { id, appName, icon, summary, body, actions, hints, replaces: old ? replaces : 0, open: true, closeReason: null };
          this.all.push(note);
          for (const w of this.waiters) w();
          return id;
        },
      },
      CloseNotification: {
        inSignature: 'u',
        outSignature: '',
        handler: (id) => this.close(id, CloseReason.CLOSED_BY_CALL),
      },
    };
  }

  open() {
    return this.all.filter((n) => n.open);
  }

  close(id, reason) {
    const note = this.all.findLast((n) => n.id === id && n.open);
    if (!note) return;
    note.open = false;
    note.closeReason = reason;
    this.conn.emit(PATH, NAME, 'NotificationClosed', 'uu', [id, reason]);
    for (const w of this.waiters) w();
  }

  click(id, action = 'default') {
    if (!this.all.some((n) => n.id === id && n.open)) throw new Error(`no open notification with id ${id}`);
    this.conn.emit(PATH, NAME, 'ActionInvoked', 'us', [id, action]);
  }

  dismiss(id) {
    this.close(id, CloseReason.DISMISSED);
  }

  waitFor(predicate, { timeoutMs = 10_000 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.all.findLast((n) => predicate(n));
        if (!hit) return false;
        done();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no such notification within ${timeoutMs} ms; shown: ${JSON.stringify(this.all.map((n) => ({ id: n.id, summary: n.summary, body: n.body, open: n.open })))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    await this.cleanup();
  }
}
