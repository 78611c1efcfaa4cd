// A minimal D-Bus client: just enough of the wire protocol
// (https://dbus.freedesktop.org/doc/dbus-specification.html) to own a name,
// answer method calls and emit signals on a private session bus. The tests
// use it to play the desktop's notification daemon (notifications.mjs), so
// that Chromium shows web push notifications through it and a test can click
// them for real. No dependencies: the protocol subset is small, and a
// package for it would pull in far more code than this file.
//
// Values: y n q i u h → number, x t → BigInt, d → number, b → boolean,
// s o g → string, a → Array (a{..} → plain object), (..) → Array,
// v → {signature, value} when read; when written, a variant is given as
// [signature, value].

import { once } from 'node:events';
import { createConnection } from 'node:net';

const LE = 'l'.charCodeAt(0);
const BE = 'B'.charCodeAt(0);

export const MessageType = { METHOD_CALL: 1, METHOD_RETURN: 2, ERROR: 3, SIGNAL: 4 };
const NO_REPLY_EXPECTED = 0x1;

const Field = { PATH: 1, INTERFACE: 2, MEMBER: 3, ERROR_NAME: 4, REPLY_SERIAL: 5, DESTINATION: 6, SENDER: 7, SIGNATURE: 8 };
const fieldType = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g' };

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

/** Index just past the single complete type starting at sig[i]. */
function typeEnd(sig, i) {
  const c = sig[i];
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    i++;
    while (sig[i] !== close) {
      if (i >= sig.length) throw new Error(`bad signature ${sig}`);
      i = typeEnd(sig, i);
    }
    return i + 1;
  }
  if (!'ybnqiuxtdsogvh'.includes(c)) throw new Error(`unsupported type ${c} in signature ${sig}`);
  return i + 1;
}

/** Splits a signature into its complete types: "sa{sv}u" → ["s", "a{sv}", "u"]. */
export function splitSignature(sig) {
  const out = [];
  for (let i = 0; i < sig.length; ) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

function alignment(type) {
  switch (type[0]) {
    case 'y': case 'g': case 'v': return 1;
    case 'n': case 'q': return 2;
    case 'b': case 'i': case 'u': case 'h': case 's': case 'o': case 'a': return 4;
    default: return 8; // x t d ( {
  }
}

// ---------------------------------------------------------------------------
// Marshalling
// ---------------------------------------------------------------------------

class Writer {
  constructor() {
    this.buf = Buffer.alloc(256);
    this.len = 0;
  }
  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
  align(n) {
    const pad = (n - (this.len % n)) % n;
    this.reserve(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
  u8(v) { this.reserve(1); this.buf.writeUInt8(v, this.len); this.len += 1; }
  u32(v) { this.align(4); this.reserve(4); this.buf.writeUInt32LE(v, this.len); this.len += 4; }
  bytes(b) { this.reserve(b.length); b.copy(this.buf, this.len); this.len += b.length; }

  write(type, value) {
    switch (type[0]) {
      case 'y': this.u8(value); return;
      case 'b': this.u32(value ? 1 : 0); return;
      case 'n': this.align(2); this.reserve(2); this.buf.writeInt16LE(value, this.len); this.len += 2; return;
      case 'q': this.align(2); this.reserve(2); this.buf.writeUInt16LE(value, this.len); this.len += 2; return;
      case 'i': this.align(4); this.reserve(4); this.buf.writeInt32LE(value, this.len); this.len += 4; return;
      case 'u': case 'h': this.u32(value); return;
      case 'x': this.align(8); this.reserve(8); this.buf.writeBigInt64LE(BigInt(value), this.len); this.len += 8; return;
      case 't': this.align(8); this.reserve(8); this.buf.writeBigUInt64LE(BigInt(value), this.len); this.len += 8; return;
      case 'd': this.align(8); this.reserve(8); this.buf.writeDoubleLE(value, this.len); this.len += 8; return;
      case 's': case 'o': {
        const b = Buffer.from(String(value), 'utf8');
        this.u32(b.length);
        this.bytes(b);
        this.u8(0);
        return;
      }
      case 'g': {
        const b = Buffer.from(value, 'ascii');
        this.u8(b.length);
        this.bytes(b);
        this.u8(0);
        return;
      }
      case 'v': {
        const [sig, inner] = value;
        this.write('g', sig);
        this.write(sig, inner);
        return;
      }
      case '(': {
        this.align(8);
        splitSignature(type.slice(1, -1)).forEach((t, i) => this.write(t, value[i]));
        return;
      }
      case 'a': {
        const elem = type.slice(1);
        this.align(4);
        const lenAt = this.len;
        this.u32(0); // patched below
        this.align(alignment(elem)); // padding before the first element is not counted
        const start = this.len;
        if (elem[0] === '{') {
          const [kt, vt] = splitSignature(elem.slice(1, -1));
          const entries = value instanceof Map ? [...value] : Array.isArray(value) ? value : Object.entries(value);
          for (const [k, v] of entries) {
            this.align(8);
            this.write(kt, k);
            this.write(vt, v);
          }
        } else {
          for (const v of value) this.write(elem, v);
        }
        this.buf.writeUInt32LE(this.len - start, lenAt);
        return;
      }
      default:
        throw new Error(`cannot write type ${type}`);
    }
  }
}

class Reader {
  constructor(buf, littleEndian, offset = 0) {
    this.buf = buf;
    this.le = littleEndian;
    this.pos = offset;
  }
  align(n) { this.pos += (n - (this.pos % n)) % n; }
  u32() { this.align(4); const v = this.le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos); this.pos += 4; return v; }

  read(type) {
    const b = this.buf;
    const le = this.le;
    switch (type[0]) {
      case 'y': return b.readUInt8(this.pos++);
      case 'b': return this.u32() !== 0;
      case 'n': { this.align(2); const v = le ? b.readInt16LE(this.pos) : b.readInt16BE(this.pos); this.pos += 2; return v; }
      case 'q': { this.align(2); const v = le ? b.readUInt16LE(this.pos) : b.readUInt16BE(this.pos); this.pos += 2; return v; }
      case 'i': { this.align(4); const v = le ? b.readInt32LE(this.pos) : b.readInt32BE(this.pos); this.pos += 4; return v; }
      case 'u': case 'h': return this.u32();
      case 'x': { this.align(8); const v = le ? b.readBigInt64LE(this.pos) : b.readBigInt64BE(this.pos); this.pos += 8; return v; }
      case 't': { this.align(8); const v = le ? b.readBigUInt64LE(this.pos) : b.readBigUInt64BE(this.pos); this.pos += 8; return v; }
      case 'd': { this.align(8); const v = le ? b.readDoubleLE(this.pos) : b.readDoubleBE(this.pos); this.pos += 8; return v; }
      case 's': case 'o': {
        const n = this.u32();
        const s = b.toString('utf8', this.pos, this.pos + n);
        this.pos += n + 1;
        return s;
      }
      case 'g': {
        const n = b.readUInt8(this.pos++);
        const s = b.toString('ascii', this.pos, this.pos + n);
        this.pos += n + 1;
        return s;
      }
      case 'v': {
        const signature = this.read('g');
        return { signature, value: this.read(signature) };
      }
      case '(': {
        this.align(8);
        return splitSignature(type.slice(1, -1)).map((t) => this.read(t));
      }
      case 'a': {
        const elem = type.slice(1);
        const n = this.u32();
        this.align(alignment(elem));
        const end = this.pos + n;
        if (elem[0] === '{') {
          const [kt, vt] = splitSignature(elem.slice(1, -1));
          const out = {};
          while (this.pos < end) {
            this.align(8);
            const k = this.read(kt);
            out[k] = this.read(vt);
          }
          return out;
        }
        if (elem === 'y') {
          const bytes = Buffer.from(b.subarray(this.pos, end));
          this.pos = end;
          return bytes;
        }
        const out = [];
        while (this.pos < end) out.push(this.read(elem));
        return out;
      }
      default:
        throw new Error(`cannot read type ${type}`);
    }
  }
}

function encodeMessage({ type, flags = 0, serial, fields, signature = '', body = [] }) {
  const bodyW = new Writer();
  splitSignature(signature).forEach((t, i) => bodyW.write(t, body[i]));

  const w = new Writer();
  w.u8(LE);
  w.u8(type);
  w.u8(flags);
  w.u8(1); // protocol version
  w.u32(bodyW.len);
  w.u32(serial);
  const headerFields = [];
  for (const [code, value] of Object.entries(fields)) {
    if (value !== undefined) headerFields.push([Number(code), [fieldType[code], value]]);
  }
  if (signature) headerFields.push([Field.SIGNATURE, ['g', signature]]);
  w.write('a(yv)', headerFields);
  w.align(8);
  return Buffer.concat([w.buf.subarray(0, w.len), bodyW.buf.subarray(0, bodyW.len)]);
}

/** Length of the complete message at the start of buf, or 0 if incomplete. */
function messageLength(buf) {
  if (buf.length < 16) return 0;
  const le = buf[0] === LE;
  if (!le && buf[0] !== BE) throw new Error(`bad D-Bus message endianness byte ${buf[0]}`);
  const bodyLen = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLen = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerLen = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  const total = headerLen + bodyLen;
  return buf.length >= total ? total : 0;
}

function decodeMessage(buf) {
  const r = new Reader(buf, buf[0] === LE);
  r.pos = 1;
  const type = r.read('y');
  const flags = r.read('y');
  r.read('y'); // version
  r.u32(); // body length
  const serial = r.u32();
  const fields = {};
  for (const [code, variant] of r.read('a(yv)')) fields[code] = variant.value;
  r.align(8);
  const signature = fields[Field.SIGNATURE] || '';
  const body = splitSignature(signature).map((t) => r.read(t));
  return {
    type,
    flags,
    serial,
    path: fields[Field.PATH],
    interface: fields[Field.INTERFACE],
    member: fields[Field.MEMBER],
    errorName: fields[Field.ERROR_NAME],
    replySerial: fields[Field.REPLY_SERIAL],
    destination: fields[Field.DESTINATION],
    sender: fields[Field.SENDER],
    signature,
    body,
  };
}

// ---------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------

/** An error answer to a method call; `name` is the D-Bus error name. */
export class DBusError extends Error {
  constructor(name, message) {
    super(message || name);
    this.name = name;
  }
}

/**
 * Connects to the bus at `address` (e.g. "unix:path=/tmp/x/bus"), authenticates
 * as the current user and says Hello. Returns a Connection.
 */
export async function connect(address) {
  const socketPath = parseAddress(address);
  const socket = createConnection({ path: socketPath });
  await once(socket, 'connect');

  // SASL: the EXTERNAL mechanism proves our uid through the socket's
  // credentials, which is what a session bus accepts.
  const uid = String(process.getuid());
  socket.write('\0AUTH EXTERNAL ' + Buffer.from(uid, 'ascii').toString('hex') + '\r\n');
  let greeting = '';
  while (!greeting.includes('\r\n')) {
    const [chunk] = await once(socket, 'data');
    greeting += chunk.toString('ascii');
  }
  if (!greeting.startsWith('OK ')) {
    socket.destroy();
    throw new Error(`D-Bus authentication failed: ${greeting.trim()}`);
  }
  socket.write('BEGIN\r\n');

  const conn = new Connection(socket);
  conn.uniqueName = await conn.call({
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus',
    member: 'Hello',
  });
  return conn;
}

function parseAddress(address) {
  for (const part of address.split(';')) {
    const [transport, rest = ''] = part.split(':');
    if (transport !== 'unix') continue;
    const kv = Object.fromEntries(rest.split(',').map((p) => p.split('=').map(decodeURIComponent)));
    if (kv.path) return kv.path;
    if (kv.abstract) return '\0' + kv.abstract;
  }
  throw new Error(`unsupported D-Bus address ${address} (only unix:path= and unix:abstract=)`);
}

class Connection {
  constructor(socket) {
    this.socket = socket;
    this.serial = 0;
    this.pending = new Map(); // serial → {resolve, reject}
    this.objects = new Map(); // path → {interface → {member → {inSignature, outSignature, handler}}}
    this.closed = false;
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const n = messageLength(buf);
        if (!n) break;
        const msg = decodeMessage(buf.subarray(0, n));
        buf = buf.subarray(n);
        this.dispatch(msg);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const { reject } of this.pending.values()) reject(new Error('D-Bus connection closed'));
      this.pending.clear();
    });
    socket.on('error', () => {}); // 'close' follows and fails what is pending
  }

  send(msg) {
    if (this.closed) throw new Error('D-Bus connection closed');
    const serial = ++this.serial;
    this.socket.write(encodeMessage({ ...msg, serial }));
    return serial;
  }

  /** Calls a method; resolves to its single return value (or an array if several). */
  call({ destination, path, interface: iface, member, signature = '', body = [] }) {
    return new Promise((resolve, reject) => {
      const serial = this.send({
        type: MessageType.METHOD_CALL,
        fields: { [Field.PATH]: path, [Field.INTERFACE]: iface, [Field.MEMBER]: member, [Field.DESTINATION]: destination },
        signature,
        body,
      });
      this.pending.set(serial, { resolve, reject });
    });
  }

  /** Broadcasts a signal from `path`. */
  emit(path, iface, member, signature = '', body = []) {
    this.send({
      type: MessageType.SIGNAL,
      flags: NO_REPLY_EXPECTED,
      fields: { [Field.PATH]: path, [Field.INTERFACE]: iface, [Field.MEMBER]: member },
      signature,
      body,
    });
  }

  /**
   * Answers method calls on `path`/`iface`. `methods` maps a member name to
   * {inSignature, outSignature, handler(...args) → value | array of values | Promise}.
   */
  export(path, iface, methods) {
    if (!this.objects.has(path)) this.objects.set(path, new Map());
    this.objects.get(path).set(iface, methods);
  }

  /** Asks the bus for a well-known name; throws unless we became its primary owner. */
  async requestName(name) {
    const DO_NOT_QUEUE = 4;
    const result = await this.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'RequestName',
      signature: 'su',
      body: [name, DO_NOT_QUEUE],
    });
    if (result !== 1) throw new Error(`could not own the D-Bus name ${name} (RequestName answered ${result})`);
  }

  dispatch(msg) {
    if (msg.type === MessageType.METHOD_RETURN || msg.type === MessageType.ERROR) {
      const p = this.pending.get(msg.replySerial);
      if (!p) return;
      this.pending.delete(msg.replySerial);
      if (msg.type === MessageType.ERROR) p.reject(new DBusError(msg.errorName, msg.body[0]));
      else p.resolve(msg.body.length === 1 ? msg.body[0] : msg.body.length ? msg.body : undefined);
      return;
    }
    if (msg.type === MessageType.METHOD_CALL) this.answer(msg);
    // Signals (NameAcquired and the like) are not needed.
  }

  async answer(msg) {
    const wantsReply = !(msg.flags & NO_REPLY_EXPECTED);
    const reply = (signature, body) =>
      wantsReply &&
      this.send({
        type: MessageType.METHOD_RETURN,
        flags: NO_REPLY_EXPECTED,
        fields: { [Field.REPLY_SERIAL]: msg.serial, [Field.DESTINATION]: msg.sender },
        signature,
        body,
      });
    const error = (name, text) =>
      wantsReply &&
      this.send({
        type: MessageType.ERROR,
        flags: NO_REPLY_EXPECTED,
        fields: { [Field.REPLY_SERIAL]: msg.serial, [Field.DESTINATION]: msg.sender, [Field.ERROR_NAME]: name },
        signature: 's',
        body: [text],
      });

    if (msg.interface === 'org.freedesktop.DBus.Peer' && msg.member === 'Ping') return reply('', []);
    const ifaces = this.objects.get(msg.path);
    let method;
    if (ifaces) {
      if (msg.interface) method = ifaces.get(msg.interface)?.[msg.member];
      else for (const m of ifaces.values()) method ||= m[msg.member];
    }
    if (!method) {
      return error('org.freedesktop.DBus.Error.UnknownMethod', `no method ${msg.interface}.${msg.member} on ${msg.path}`);
    }
    if ((method.inSignature || '') !== msg.signature) {
      return error('org.freedesktop.DBus.Error.InvalidArgs', `expected signature "${method.inSignature}", got "${msg.signature}"`);
    }
    try {
      const result = await method.handler(...msg.body, msg);
      const types = splitSignature(method.outSignature || '');
      reply(method.outSignature || '', types.length === 1 ? [result] : types.length ? result : []);
    } catch (err) {
      error(err instanceof DBusError ? err.name : 'org.freedesktop.DBus.Error.Failed', err.message);
    }
  }

  close() {
    this.closed = true;
    this.socket.destroy();
  }
}
