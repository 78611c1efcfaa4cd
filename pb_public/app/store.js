// The PocketBase client, what the storefront knows (orders, messages,
// Telegram link, push devices, cart) and realtime. Views read `state` and
// re-render on the bus topics:
//   auth      signed in or out
//   user      the signed-in user's record changed (name, locale, notifyPrefs)
//   orders    state.orders changed
//   messages  state.messages changed
//   telegram  state.telegram changed
//   devices   state.devices changed
//   push      state.push changed
//   cart      the cart changed
//   today     state.today changed (staff: orders today)
//   lang      the language changed

import PocketBase from '/vendor/pocketbase.es.mjs';
import { getLang } from './i18n.js';
import { productById } from './products.js';

export const pb = new PocketBase(location.origin);
// Views may load the same list twice in a row (e.g. a realtime reconnect
// while a page loads); both requests must complete.
pb.autoCancellation(false);

const bus = new EventTarget();

export function emit(topic) {
  bus.dispatchEvent(new Event(topic));
}

/** Calls fn on every topic; returns the function that stops it. */
export function on(topics, fn) {
  const list = [].concat(topics);
  for (const topic of list) bus.addEventListener(topic, fn);
  return () => list.forEach((topic) => bus.removeEventListener(topic, fn));
}

export const state = {
  orders: new Map(),
  ordersLoaded: false,
  missing: '', // an order id the server said does not exist (or is not ours)
  messages: new Map(), // every message row the customer may see, any channel
  inboxLoaded: false,
  timelines: new Set(), // order ids whose messages were fetched
  telegram: { loaded: false, link: null, waiting: false, unavailable: false },
  devices: { loaded: false, list: [] },
  push: { state: 'unknown', busy: false },
  // The channels this shop delivers on (GET /api/notify/channels): the
  // storefront offers only those.
  channels: { loaded: false, list: [] },
  // Staff only: every customer's orders since `from` ("Orders today").
  today: { loaded: false, from: '', orders: new Map() },
};

export function currentUser() {
  return pb.authStore.isValid ? pb.authStore.record : null;
}

// ---- records -------------------------------------------------------------

function newer(a, b) {
  // PocketBase dates sort as strings.
  return !a || String(b.updated || '') >= String(a.updated || '');
}

export function upsertOrder(record) {
  if (newer(state.orders.get(record.id), record)) state.orders.set(record.id, record);
  emit('orders');
}

export function upsertMessage(record) {
  if (newer(state.messages.get(record.id), record)) state.messages.set(record.id, record);
  emit('messages');
}

// Staff may read every order; "My orders" are still the signed-in user's own.
const isMine = (order) => order.customer === currentUser()?.id;

export function sortedOrders() {
  return [...state.orders.values()].filter(isMine).sort((a, b) => (b.number || 0) - (a.number || 0));
}

export const isInboxMessage = (m) => m.channel === 'inbox' && m.status === 'sent';

export function inboxMessages() {
  return [...state.messages.values()]
    .filter(isInboxMessage)
    .sort((a, b) => String(b.created).localeCompare(String(a.created)) || String(b.id).localeCompare(String(a.id)));
}

export function unreadCount() {
  return inboxMessages().filter((m) => !m.readAt).length;
}

export function orderMessages(orderId) {
  return [...state.messages.values()].filter((m) => m.sourceRecord === orderId);
}

// ---- loading -------------------------------------------------------------

// The same list asked for twice while the first request runs (a view and
// the session start, say) is fetched once.
const inFlight = new Map();
// Bumped at every sign-in and sign-out: answers to an earlier session's
// requests are dropped.
let generation = 0;
function once(name, load) {
  const key = `${generation}:${name}`;
  if (!inFlight.has(key)) {
    inFlight.set(key, load().finally(() => inFlight.delete(key)));
  }
  return inFlight.get(key);
}

export function loadOrders() {
  return once('orders', fetchOrders);
}

async function fetchOrders() {
  const gen = generation;
  const list = await pb.collection('orders').getFullList({
    sort: '-created', batch: 200, filter: pb.filter('customer = {:id}', { id: currentUser().id }),
  });
  if (gen !== generation) return; // signed out meanwhile
  for (const record of list) upsertOrder(record);
  state.ordersLoaded = true;
  emit('orders');
}

export async function loadOrder(id) {
  const gen = generation;
  const record = await pb.collection('orders').getOne(id);
  if (gen === generation) upsertOrder(record);
  return record;
}

// ---- staff: orders today ---------------------------------------------------

/** PocketBase's form of the UTC moment of this browser's last midnight. */
export function localMidnight(now = new Date()) {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return midnight.toISOString().replace('T', ' ');
}

/** Loads every order placed since this browser's midnight (staff only). */
export async function loadTodayOrders() {
  const gen = generation;
  const from = localMidnight();
  const list = await pb.collection('orders').getFullList({
    sort: '-created', batch: 200, filter: pb.filter('created >= {:from}', { from }),
  });
  if (gen !== generation) return; // signed out meanwhile
  state.today = { loaded: true, from, orders: new Map(list.map((o) => [o.id, o])) };
  emit('today');
}

function upsertTodayOrder(e) {
  const today = state.today;
  if (!today.loaded) return;
  if (e.action === 'delete' || String(e.record.created) < today.from) today.orders.delete(e.record.id);
  else if (newer(today.orders.get(e.record.id), e.record)) today.orders.set(e.record.id, e.record);
  emit('today');
}

export function loadInbox() {
  return once('inbox', fetchInbox);
}

async function fetchInbox() {
  const gen = generation;
  const page = await pb.collection('notifyMessages').getList(1, 200, {
    filter: 'channel = "inbox" && status = "sent"',
    sort: '-created',
    skipTotal: true,
  });
  if (gen !== generation) return; // signed out meanwhile
  for (const record of page.items) upsertMessage(record);
  state.inboxLoaded = true;
  emit('messages');
}

export function loadTimeline(orderId) {
  return once(`timeline:${orderId}`, () => fetchTimeline(orderId));
}

async function fetchTimeline(orderId) {
  const gen = generation;
  const list = await pb.collection('notifyMessages').getFullList({
    filter: pb.filter('sourceRecord = {:id}', { id: orderId }),
    sort: '-created',
  });
  if (gen !== generation) return; // signed out meanwhile
  for (const record of list) upsertMessage(record);
  state.timelines.add(orderId);
  emit('messages');
}

let channelsJob = null;

/** Loads, once per page, the channels the shop runs. */
export function loadChannels() {
  if (!channelsJob) {
    channelsJob = pb.send('/api/notify/channels', { method: 'GET' }).then((res) => {
      state.channels.list = Array.isArray(res.channels) ? res.channels : [];
      state.channels.loaded = true;
      emit('channels');
      return state.channels.list;
    }).catch((err) => {
      channelsJob = null; // try again next time
      throw err;
    });
  }
  return channelsJob;
}

/** Whether the shop runs channel (false until the list is loaded). */
export function offers(channel) {
  return state.channels.loaded && state.channels.list.includes(channel);
}

export function loadTelegram() {
  return once('telegram', fetchTelegram);
}

async function fetchTelegram() {
  const gen = generation;
  const list = await pb.collection('notifyTelegramLinks').getFullList();
  if (gen !== generation) return; // signed out meanwhile
  state.telegram.link = list[0] || null;
  state.telegram.loaded = true;
  emit('telegram');
}

export function loadDevices() {
  return once('devices', fetchDevices);
}

async function fetchDevices() {
  const gen = generation;
  const list = await pb.collection('notifyPushSubscriptions').getFullList({ sort: '-created' });
  if (gen !== generation) return; // signed out meanwhile
  state.devices = { loaded: true, list };
  emit('devices');
}

export async function markRead(ids) {
  const readAt = new Date().toISOString();
  const updated = await Promise.all(ids.map((id) => pb.collection('notifyMessages').update(id, { readAt })));
  for (const record of updated) upsertMessage(record);
}

// ---- realtime ------------------------------------------------------------

let realtimeOn = false;
let subscribed = false; // the first connection of this session is made

// Starting and stopping run one after the other, so that the subscriptions
// of a session that just ended can never be sent after the next session's.
let realtimeQueue = Promise.resolve();
function queued(fn) {
  const run = realtimeQueue.then(fn, fn);
  realtimeQueue = run.catch(() => {});
  return run;
}

function startRealtime() {
  return queued(subscribeAll);
}

function stopRealtime() {
  return queued(unsubscribeAll);
}

async function subscribeAll() {
  await unsubscribeAll();
  realtimeOn = true;
  subscribed = false;
  await Promise.all([
    pb.collection('orders').subscribe('*', (e) => {
      if (currentUser()?.staff) upsertTodayOrder(e);
      if (e.action === 'delete') {
        state.orders.delete(e.record.id);
        emit('orders');
      } else if (isMine(e.record)) {
        upsertOrder(e.record);
      }
    }),
    // Outbox rows are inserted without a realtime event; a message shows up
    // here as an update when it is delivered (or skipped). An update for an
    // id we do not know yet is simply a new message.
    pb.collection('notifyMessages').subscribe('*', (e) => {
      if (e.action === 'delete') {
        state.messages.delete(e.record.id);
        emit('messages');
      } else {
        upsertMessage(e.record);
      }
    }),
    pb.collection('notifyTelegramLinks').subscribe('*', (e) => {
      state.telegram.link = e.action === 'delete' ? null : e.record;
      if (e.record.active && e.action !== 'delete') state.telegram.waiting = false;
      state.telegram.loaded = true;
      emit('telegram');
    }),
    pb.collection('notifyPushSubscriptions').subscribe('*', () => {
      if (state.devices.loaded) loadDevices().catch(() => {});
    }),
    // After a dropped connection, events may have been missed: reload.
    pb.realtime.subscribe('PB_CONNECT', () => {
      if (subscribed && currentUser()) refreshAll().catch(() => {});
    }),
  ]);
  subscribed = true;
}

async function unsubscribeAll() {
  if (!realtimeOn) return;
  realtimeOn = false;
  subscribed = false;
  await pb.realtime.unsubscribe().catch(() => {});
}

async function refreshAll() {
  const jobs = [loadOrders(), loadInbox()];
  for (const id of state.timelines) jobs.push(loadTimeline(id));
  if (state.telegram.loaded) jobs.push(loadTelegram());
  await Promise.all(jobs);
}

// ---- session -------------------------------------------------------------

function resetData() {
  generation += 1;
  state.orders.clear();
  state.ordersLoaded = false;
  state.missing = '';
  state.messages.clear();
  state.inboxLoaded = false;
  state.timelines.clear();
  state.telegram = { loaded: false, link: null, waiting: false, unavailable: false };
  state.devices = { loaded: false, list: [] };
  state.today = { loaded: false, from: '', orders: new Map() };
}

/** Starts realtime and loads what the header needs. */
export async function startSession() {
  resetData();
  emit('auth');
  await startRealtime();
  await Promise.all([loadOrders(), loadInbox(), loadServerCart()]);
}

export async function endSession() {
  await stopRealtime();
  if (currentUser()) await cartSaved().catch(() => {});
  clearTimeout(serverCart.timer);
  serverCart.dirty = false;
  serverCart.lines = new Map();
  replaceCart([]); // the account's cart is not left for the next person here
  pb.authStore.clear();
  resetData();
  emit('auth');
  emit('orders');
  emit('messages');
}

/**
 * Refreshes the signed-in record (and the token); false if it is no longer
 * valid. If someone signs in while the request runs, their session stands:
 * the answer for the old token is dropped.
 */
export async function refreshAuth() {
  if (!pb.authStore.isValid) {
    pb.authStore.clear();
    return false;
  }
  const token = pb.authStore.token;
  try {
    const data = await pb.send('/api/collections/users/auth-refresh', { method: 'POST', headers: { Authorization: token } });
    if (pb.authStore.token === token) pb.authStore.save(data.token, data.record);
    return true;
  } catch (err) {
    if (pb.authStore.token !== token) return true;
    if (err && (err.status === 401 || err.status === 403 || err.status === 404)) {
      pb.authStore.clear();
      return false;
    }
    return pb.authStore.isValid; // offline: keep the session
  }
}

export async function updateUser(data) {
  const user = currentUser();
  const record = await pb.collection('users').update(user.id, data);
  // The SDK refreshes pb.authStore.record for the signed-in user itself.
  emit('user');
  return record;
}

// ---- cart ----------------------------------------------------------------

// The cart is {productId: qty}. A guest's lives in this browser only; a
// signed-in customer's is kept in the `carts` collection as well (one
// record each: [{product, name, qty, price}]), so it follows them to
// another browser, and the shop can remind them of it. The server copy is
// loaded at sign-in (a non-empty one wins over what a guest put in this
// browser), saved after every change, and emptied when the order is placed.

const CART_KEY = 'shop.cart';

function readCart() {
  try {
    const raw = JSON.parse(localStorage.getItem(CART_KEY) || '{}');
    return raw && typeof raw === 'object' ? raw : {};
  } catch (_) {
    return {};
  }
}

export const cart = readCart();

function saveCart({ sync = true } = {}) {
  try {
    localStorage.setItem(CART_KEY, JSON.stringify(cart));
  } catch (_) { /* storage disabled: the cart lives as long as the page */ }
  emit('cart');
  if (sync && currentUser()) scheduleCartSave();
}

export function setQty(id, qty) {
  const n = Math.max(0, Math.min(99, Math.round(qty) || 0));
  if (n === 0) delete cart[id];
  else cart[id] = n;
  saveCart();
}

export function clearCart() {
  for (const id of Object.keys(cart)) delete cart[id];
  saveCart();
}

function replaceCart(entries, { sync = false } = {}) {
  for (const id of Object.keys(cart)) delete cart[id];
  for (const [id, qty] of entries) cart[id] = qty;
  saveCart({ sync });
}

// lines: what the server last had, by product, so that a line whose product
// the page does not know (yet) is saved as it was rather than dropped.
const serverCart = { id: '', gen: -1, saving: null, dirty: false, timer: 0, lines: new Map() };

function productName(product, lang) {
  const name = product.name;
  if (name && typeof name === 'object') return name[lang] || name.en || '';
  const own = product.translations && product.translations[lang];
  return (own && own.name) || name || '';
}

function cartLines() {
  const lang = getLang();
  return Object.entries(cart).filter(([, qty]) => qty > 0).map(([id, qty]) => {
    const product = productById(id);
    const before = serverCart.lines.get(id) || {};
    // With a products collection the server takes name and price from it.
    const name = (product && productName(product, lang)) || before.name || id;
    const price = product ? Number(product.price) || 0 : Number(before.price) || 0;
    return { product: id, name: String(name).slice(0, 200), qty, price };
  });
}

/** The signed-in customer's cart record, made (empty) if they have none. */
async function findOrMakeCart() {
  const user = currentUser();
  const find = async () => (await pb.collection('carts').getList(1, 1, {
    filter: pb.filter('customer = {:id}', { id: user.id }), skipTotal: true,
  })).items[0];
  const found = await find();
  if (found) return found;
  try {
    return await pb.collection('carts').create({ customer: user.id, items: [] });
  } catch (err) {
    // Another tab made it meanwhile (one cart per customer): use that one.
    const made = await find();
    if (made) return made;
    throw err;
  }
}

/** The id of this session's cart record; '' if the session ended meanwhile. */
async function serverCartId() {
  if (serverCart.gen === generation && serverCart.id) return serverCart.id;
  const gen = generation;
  const record = await findOrMakeCart();
  if (gen !== generation) return '';
  serverCart.gen = gen;
  serverCart.id = record.id;
  return record.id;
}

/** Loads the signed-in customer's cart at the start of a session. */
async function loadServerCart() {
  const gen = generation;
  const record = await findOrMakeCart();
  if (gen !== generation) return; // signed out meanwhile
  serverCart.gen = gen;
  serverCart.id = record.id;
  const lines = (Array.isArray(record.items) ? record.items : []).filter((l) => l && l.product && l.qty > 0);
  serverCart.lines = new Map(lines.map((l) => [l.product, l]));
  const entries = lines.map((l) => [l.product, Math.min(99, l.qty)]);
  if (entries.length) replaceCart(entries);
  else if (Object.keys(cart).length) scheduleCartSave(0); // what the guest chose comes along
}

function scheduleCartSave(delay = 300) {
  serverCart.dirty = true;
  clearTimeout(serverCart.timer);
  serverCart.timer = setTimeout(() => { saveServerCart().catch((err) => console.warn('cart:', err)); }, delay);
}

// One save at a time; changes made meanwhile go out in the next one.
async function saveServerCart() {
  if (serverCart.saving) return serverCart.saving;
  serverCart.saving = (async () => {
    try {
      while (serverCart.dirty && currentUser()) {
        serverCart.dirty = false;
        const gen = generation;
        const id = await serverCartId();
        if (!id || gen !== generation) return;
        const saved = await pb.collection('carts').update(id, { items: cartLines() });
        if (gen === generation && Array.isArray(saved.items)) serverCart.lines = new Map(saved.items.map((l) => [l.product, l]));
      }
    } finally {
      serverCart.saving = null;
    }
  })();
  return serverCart.saving;
}

/** Resolves once every change to the cart so far is saved on the server. */
export async function cartSaved() {
  clearTimeout(serverCart.timer);
  if (serverCart.dirty) await saveServerCart();
  else if (serverCart.saving) await serverCart.saving;
}
