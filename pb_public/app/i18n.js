// Russian and English texts, and the formatting of money and dates.

const STORAGE_KEY = 'shop.lang';
export const LANGS = ['ru', 'en'];

const dict = {
  en: {
    tagline: 'Tea and coffee roasters',
    'nav.catalogue': 'Catalogue',
    'nav.orders': 'My orders',
    'nav.inbox': 'Inbox',
    'nav.settings': 'Settings',
    'nav.today': 'Orders today',
    'today.title': 'Orders today',
    'today.count': 'Orders:',
    'today.sum': 'sum:',
    'today.empty': 'No orders yet today.',
    'today.staffOnly': 'This page is for the shop\'s staff.',
    'nav.signin': 'Sign in',
    'nav.signout': 'Sign out',
    'nav.main': 'Main',
    'nav.language': 'Language',
    'nav.unread': '{n} unread',

    'hero.title': 'Fresh tea and coffee, delivered to your door',
    'hero.text': 'Small-batch teas and freshly roasted beans. Free delivery from ₽3,000; we keep you posted at every step.',

    'catalogue.title': 'Catalogue',
    'catalogue.add': 'Add to cart',
    'catalogue.inCart': 'In cart',
    'catalogue.decrease': 'One less {name}',
    'catalogue.increase': 'One more {name}',
    'catalogue.qty': 'Quantity of {name}',
    'catalogue.stock': '{n} in stock',
    'catalogue.stockLow': 'Only {n} left',
    'catalogue.soldOut': 'Out of stock',
    'catalogue.empty': 'Nothing is on sale right now. Come back soon!',
    'catalogue.error': 'The catalogue did not load. Check the connection and reload the page.',

    'cart.title': 'Your cart',
    'cart.empty': 'Your cart is empty. Pick something you like.',
    'cart.total': 'Total',
    'cart.items': '{n} items',
    'cart.items.one': '{n} item',
    'cart.remove': 'Remove {name}',
    'cart.placeOrder': 'Place order',
    'cart.signinToOrder': 'Sign in to place the order',
    'cart.view': 'View cart',

    'checkout.title': 'Where should we deliver?',
    'checkout.address': 'Delivery address',
    'checkout.addressHint': 'City, street, house, flat; postcode if you know it',
    'checkout.confirm': 'Confirm order',
    'checkout.cancel': 'Back',
    'checkout.placed': 'Order #{n} placed. Thank you!',
    'checkout.summary': '{items} for {total}',

    'orders.title': 'My orders',
    'orders.empty': 'No orders yet.',
    'orders.emptyCta': 'Go to the catalogue',
    'orders.order': 'Order #{n}',
    'orders.placed': 'Placed {date}',
    'orders.items': 'Items',
    'orders.total': 'Total',
    'orders.address': 'Delivery address',
    'orders.tracking': 'Tracking number',
    'orders.track': 'Track parcel',
    'orders.back': 'All orders',
    'orders.notFound': 'This order does not exist or is not yours.',
    'orders.timeline': 'What we told you',
    'orders.timelineEmpty': 'No messages about this order yet.',
    'orders.progress': 'Order progress',
    'orders.cancelledNote': 'This order was cancelled.',
    'orders.returnedNote': 'This order was returned.',
    'orders.qtyPrice': '{qty} × {price}',

    'status.new': 'New',
    'status.paid': 'Paid',
    'status.assembling': 'Packing',
    'status.shipped': 'Shipped',
    'status.delivered': 'Delivered',
    'status.cancelled': 'Cancelled',
    'status.returned': 'Returned',
    'step.new': 'Placed',
    'step.paid': 'Paid',
    'step.assembling': 'Packing',
    'step.shipped': 'On its way',
    'step.delivered': 'Delivered',

    'channel.email': 'Email',
    'channel.telegram': 'Telegram',
    'channel.webpush': 'Web push',
    'channel.inbox': 'In-app',
    'via.email': 'email',
    'via.telegram': 'Telegram',
    'via.webpush': 'web push',
    'via.inbox': 'in-app message',
    'delivery.notSentOn': 'Not sent by',
    'delivery.sent': 'Sent by {channel}',
    'delivery.sent.inbox': 'In your inbox',
    'delivery.skipped': 'Not sent by {channel}',
    'delivery.skipped.inbox': 'Not in your inbox',
    'delivery.queued': 'Sending by {channel}…',
    'delivery.sending': 'Sending by {channel}…',
    'delivery.failed': 'Could not be delivered by {channel}',
    'delivery.cancelled': 'Not sent by {channel} (cancelled)',

    'inbox.title': 'Inbox',
    'inbox.empty': 'No messages yet. We will write here about your orders.',
    'inbox.markRead': 'Mark as read',
    'inbox.markAllRead': 'Mark all as read',
    'inbox.open': 'Open',
    'inbox.unread': 'Unread',
    'inbox.allRead': 'All messages are read.',

    'settings.title': 'Settings',
    'settings.profile': 'Profile',
    'settings.name': 'Name',
    'settings.email': 'Email',
    'settings.phone': 'Phone',
    'settings.timezone': 'Time zone',
    'settings.timezoneHint': 'Reminders and greetings come at a sensible hour where you are.',
    'settings.birthday': 'Birthday',
    'settings.birthdayHint': 'Optional: we will send you a greeting on the day.',
    'settings.language': 'Language of messages',
    'settings.save': 'Save',
    'settings.saved': 'Saved',
    'settings.channels': 'Where we reach you',
    'settings.prefs': 'What we send, and where',
    'settings.prefsHint': 'Changes are saved at once. Order and security messages must stay on for at least one channel.',
    'settings.category': 'Messages',
    'settings.toggle': '{category} by {channel}',

    'cat.security': 'Security',
    'cat.security.hint': 'Sign-ins, password and account changes.',
    'cat.transactional': 'Orders and payments',
    'cat.transactional.hint': 'Confirmations, payment, shipping and delivery.',
    'cat.service': 'Service',
    'cat.service.hint': 'Packing news, reminders and requests for a review.',
    'cat.marketing': 'News and offers',
    'cat.marketing.hint': 'New harvests, discounts and tastings. At most weekly.',

    'email.desc': 'Receipts and updates to {email}.',
    'inboxChannel.desc': 'Messages in the Inbox of this shop. Always available.',

    'tg.desc': 'Messages from our bot in Telegram.',
    'tg.connect': 'Connect Telegram',
    'tg.connected': 'Connected ✓',
    'tg.connectedAs': 'Connected ✓ as @{username}',
    'tg.inactive': 'Paused: the bot cannot write to you (blocked?). Connect again.',
    'tg.disconnect': 'Disconnect',
    'tg.waiting': 'Open the bot in Telegram and press Start. This page updates by itself.',
    'tg.unavailable': 'Telegram is not available in this shop.',
    'tg.disconnected': 'Telegram disconnected.',
    'tg.popup': 'Allow pop-ups, or open this link: {url}',

    'push.desc': 'Notifications in this browser, even when the shop is closed.',
    'push.on': 'On in this browser',
    'push.off': 'Off in this browser',
    'push.blocked': 'Blocked in the browser settings. Allow notifications for this site, then try again.',
    'push.unsupported': 'This browser cannot receive notifications from the shop.',
    'push.enable': 'Turn on',
    'push.disable': 'Turn off',
    'push.enabled': 'Notifications are on in this browser.',
    'push.disabled': 'Notifications are off in this browser.',
    'push.devices': 'Your devices',
    'push.noDevices': 'No devices yet.',
    'push.remove': 'Remove',
    'push.removeDevice': 'Remove device {name}',
    'push.since': 'since {date}',
    'push.err.denied': 'Notifications are blocked for this site. Allow them in the browser\'s site settings (the icon left of the address), then try again.',
    'push.err.dismissed': 'Notifications were not turned on: the browser\'s question was closed without an answer.',
    'push.err.signed-out': 'Sign in again to turn on notifications.',

    'auth.signinTitle': 'Welcome back',
    'auth.signinText': 'Sign in to follow your orders.',
    'auth.signupTitle': 'Create an account',
    'auth.signupText': 'One account for your orders, receipts and tracking.',
    'auth.name': 'Your name',
    'auth.email': 'Email',
    'auth.password': 'Password',
    'auth.passwordHint': 'At least 8 characters',
    'auth.signin': 'Sign in',
    'auth.signup': 'Create account',
    'auth.toSignup': 'New here? Create an account',
    'auth.toSignin': 'Already have an account? Sign in',
    'auth.required': 'Sign in to see this page.',
    'auth.welcome': 'Welcome, {name}!',
    'auth.signedOut': 'You are signed out.',

    'error.network': 'Could not reach the shop. Check the connection and try again.',
    'error.generic': 'Something went wrong.',
    'close': 'Close',
    'notifications': 'Notifications',
    'footer.since': 'tea and coffee since 2014',
  },

  ru: {
    tagline: 'Чай и кофе свежей обжарки',
    'nav.catalogue': 'Каталог',
    'nav.orders': 'Мои заказы',
    'nav.inbox': 'Сообщения',
    'nav.settings': 'Настройки',
    'nav.today': 'Заказы за сегодня',
    'today.title': 'Заказы за сегодня',
    'today.count': 'Заказов:',
    'today.sum': 'на сумму',
    'today.empty': 'Сегодня заказов пока нет.',
    'today.staffOnly': 'Эта страница — для сотрудников магазина.',
    'nav.signin': 'Войти',
    'nav.signout': 'Выйти',
    'nav.main': 'Основное меню',
    'nav.language': 'Язык',
    'nav.unread': 'непрочитанных: {n}',

    'hero.title': 'Свежий чай и кофе с доставкой до двери',
    'hero.text': 'Чай небольших партий и кофе свежей обжарки. Доставка бесплатно от 3 000 ₽; о каждом шаге заказа мы сообщим.',

    'catalogue.title': 'Каталог',
    'catalogue.add': 'В корзину',
    'catalogue.inCart': 'В корзине',
    'catalogue.decrease': 'Убрать одну штуку: {name}',
    'catalogue.increase': 'Добавить ещё: {name}',
    'catalogue.qty': 'Количество: {name}',
    'catalogue.stock': 'В наличии: {n}',
    'catalogue.stockLow': 'Осталось {n}',
    'catalogue.soldOut': 'Нет в наличии',
    'catalogue.empty': 'Сейчас ничего нет в продаже. Загляните позже!',
    'catalogue.error': 'Каталог не загрузился. Проверьте соединение и обновите страницу.',

    'cart.title': 'Корзина',
    'cart.empty': 'Корзина пуста. Выберите что-нибудь по вкусу.',
    'cart.total': 'Итого',
    'cart.items': 'Товаров: {n}',
    'cart.remove': 'Удалить: {name}',
    'cart.placeOrder': 'Оформить заказ',
    'cart.signinToOrder': 'Войдите, чтобы оформить заказ',
    'cart.view': 'Корзина',

    'checkout.title': 'Куда доставить заказ?',
    'checkout.address': 'Адрес доставки',
    'checkout.addressHint': 'Город, улица, дом, квартира; индекс, если знаете',
    'checkout.confirm': 'Подтвердить заказ',
    'checkout.cancel': 'Назад',
    'checkout.placed': 'Заказ №{n} оформлен. Спасибо!',
    'checkout.summary': '{items}, на сумму {total}',

    'orders.title': 'Мои заказы',
    'orders.empty': 'Заказов пока нет.',
    'orders.emptyCta': 'Перейти в каталог',
    'orders.order': 'Заказ №{n}',
    'orders.placed': 'Оформлен {date}',
    'orders.items': 'Состав заказа',
    'orders.total': 'Итого',
    'orders.address': 'Адрес доставки',
    'orders.tracking': 'Трек-номер',
    'orders.track': 'Отследить посылку',
    'orders.back': 'Все заказы',
    'orders.notFound': 'Такого заказа нет, или он не ваш.',
    'orders.timeline': 'Что мы вам сообщили',
    'orders.timelineEmpty': 'Сообщений об этом заказе пока нет.',
    'orders.progress': 'Ход заказа',
    'orders.cancelledNote': 'Этот заказ отменён.',
    'orders.returnedNote': 'Этот заказ возвращён.',
    'orders.qtyPrice': '{qty} × {price}',

    'status.new': 'Новый',
    'status.paid': 'Оплачен',
    'status.assembling': 'Собирается',
    'status.shipped': 'Отправлен',
    'status.delivered': 'Доставлен',
    'status.cancelled': 'Отменён',
    'status.returned': 'Возвращён',
    'step.new': 'Принят',
    'step.paid': 'Оплачен',
    'step.assembling': 'Сборка',
    'step.shipped': 'В пути',
    'step.delivered': 'Получен',

    'channel.email': 'Почта',
    'channel.telegram': 'Telegram',
    'channel.webpush': 'Push',
    'channel.inbox': 'На сайте',
    'via.email': 'почта',
    'via.telegram': 'Telegram',
    'via.webpush': 'push',
    'via.inbox': 'на сайте',
    'delivery.notSentOn': 'Не отправлено:',
    'delivery.sent.email': 'Отправлено на почту',
    'delivery.sent.telegram': 'Отправлено в Telegram',
    'delivery.sent.webpush': 'Отправлено push-уведомлением',
    'delivery.sent.inbox': 'В ваших сообщениях',
    'delivery.skipped.email': 'Не отправлено на почту',
    'delivery.skipped.telegram': 'Не отправлено в Telegram',
    'delivery.skipped.webpush': 'Не отправлено push-уведомлением',
    'delivery.skipped.inbox': 'Не показано на сайте',
    'delivery.queued': 'Отправляется: {channel}…',
    'delivery.sending': 'Отправляется: {channel}…',
    'delivery.failed': 'Не удалось доставить: {channel}',
    'delivery.cancelled': 'Отменено: {channel}',

    'inbox.title': 'Сообщения',
    'inbox.empty': 'Сообщений пока нет. Здесь появятся новости о ваших заказах.',
    'inbox.markRead': 'Прочитано',
    'inbox.markAllRead': 'Прочитать все',
    'inbox.open': 'Открыть',
    'inbox.unread': 'Новое',
    'inbox.allRead': 'Все сообщения прочитаны.',

    'settings.title': 'Настройки',
    'settings.profile': 'Профиль',
    'settings.name': 'Имя',
    'settings.email': 'Почта',
    'settings.phone': 'Телефон',
    'settings.timezone': 'Часовой пояс',
    'settings.timezoneHint': 'Напоминания и поздравления придут в удобное для вас время.',
    'settings.birthday': 'День рождения',
    'settings.birthdayHint': 'Необязательно: в этот день мы вас поздравим.',
    'settings.language': 'Язык сообщений',
    'settings.save': 'Сохранить',
    'settings.saved': 'Сохранено',
    'settings.channels': 'Как с вами связаться',
    'settings.prefs': 'Что и куда присылать',
    'settings.prefsHint': 'Изменения сохраняются сразу. Сообщения о заказах и безопасности должны приходить хотя бы в один канал.',
    'settings.category': 'Сообщения',
    'settings.toggle': '{category}: {channel}',

    'cat.security': 'Безопасность',
    'cat.security.hint': 'Входы в аккаунт, смена пароля и данных.',
    'cat.transactional': 'Заказы и оплата',
    'cat.transactional.hint': 'Подтверждения, оплата, отправка и доставка.',
    'cat.service': 'Сервисные',
    'cat.service.hint': 'Новости о сборке, напоминания, просьбы об отзыве.',
    'cat.marketing': 'Новинки и акции',
    'cat.marketing.hint': 'Новый урожай, скидки и дегустации. Не чаще раза в неделю.',

    'email.desc': 'Чеки и новости заказов на {email}.',
    'inboxChannel.desc': 'Сообщения в разделе «Сообщения» на сайте. Всегда доступны.',

    'tg.desc': 'Сообщения от нашего бота в Telegram.',
    'tg.connect': 'Подключить Telegram',
    'tg.connected': 'Подключено ✓',
    'tg.connectedAs': 'Подключено ✓: @{username}',
    'tg.inactive': 'Приостановлено: бот не может вам написать (заблокирован?). Подключите заново.',
    'tg.disconnect': 'Отключить',
    'tg.waiting': 'Откройте бота в Telegram и нажмите «Запустить». Эта страница обновится сама.',
    'tg.unavailable': 'Telegram в этом магазине недоступен.',
    'tg.disconnected': 'Telegram отключён.',
    'tg.popup': 'Разрешите всплывающие окна или откройте ссылку: {url}',

    'push.desc': 'Уведомления в этом браузере, даже когда магазин закрыт.',
    'push.on': 'Включены в этом браузере',
    'push.off': 'Выключены в этом браузере',
    'push.blocked': 'Запрещены в настройках браузера. Разрешите уведомления для сайта и попробуйте снова.',
    'push.unsupported': 'Этот браузер не может получать уведомления магазина.',
    'push.enable': 'Включить',
    'push.disable': 'Выключить',
    'push.enabled': 'Уведомления в этом браузере включены.',
    'push.disabled': 'Уведомления в этом браузере выключены.',
    'push.devices': 'Ваши устройства',
    'push.noDevices': 'Устройств пока нет.',
    'push.remove': 'Удалить',
    'push.removeDevice': 'Удалить устройство {name}',
    'push.since': 'с {date}',
    'push.err.denied': 'Уведомления для этого сайта запрещены. Разрешите их в настройках сайта в браузере (значок слева от адреса) и попробуйте снова.',
    'push.err.dismissed': 'Уведомления не включены: вопрос браузера закрыт без ответа.',
    'push.err.signed-out': 'Войдите снова, чтобы включить уведомления.',

    'auth.signinTitle': 'С возвращением',
    'auth.signinText': 'Войдите, чтобы следить за заказами.',
    'auth.signupTitle': 'Регистрация',
    'auth.signupText': 'Один аккаунт для заказов, чеков и отслеживания.',
    'auth.name': 'Ваше имя',
    'auth.email': 'Почта',
    'auth.password': 'Пароль',
    'auth.passwordHint': 'Не короче 8 символов',
    'auth.signin': 'Войти',
    'auth.signup': 'Зарегистрироваться',
    'auth.toSignup': 'Впервые у нас? Зарегистрируйтесь',
    'auth.toSignin': 'Уже есть аккаунт? Войдите',
    'auth.required': 'Войдите, чтобы открыть эту страницу.',
    'auth.welcome': 'Здравствуйте, {name}!',
    'auth.signedOut': 'Вы вышли из аккаунта.',

    'error.network': 'Не удалось связаться с магазином. Проверьте подключение и попробуйте снова.',
    'error.generic': 'Что-то пошло не так.',
    'close': 'Закрыть',
    'notifications': 'Уведомления',
    'footer.since': 'чай и кофе с 2014 года',
  },
};

function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch (_) { /* storage disabled */ }
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return browser.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

let lang = initialLang();

export function getLang() {
  return lang;
}

/** Sets the language of the page; returns true if it changed. */
export function setLang(next) {
  if (!LANGS.includes(next)) return false;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch (_) { /* storage disabled */ }
  document.documentElement.lang = next;
  if (next === lang) return false;
  lang = next;
  return true;
}

/** "Sent by email", "Not sent by Telegram", … for a message row. */
export function deliveryText(status, channel) {
  const pick = (d) => d[`delivery.${status}.${channel}`]
    || (d[`delivery.${status}`] && d[`delivery.${status}`].replace('{channel}', t(`via.${channel}`)));
  return pick(dict[lang]) || pick(dict.en) || status;
}

/** t() of `${key}.${plural category}` (e.g. "cart.items.one"), or of key. */
export function plural(key, n, params = {}) {
  const category = new Intl.PluralRules(lang).select(n);
  const own = `${key}.${category}`;
  return t(dict[lang][own] ? own : key, { n, ...params });
}

export function t(key, params) {
  let text = dict[lang][key] ?? dict.en[key] ?? key;
  if (params) {
    text = text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }
  return text;
}

const locale = () => (lang === 'ru' ? 'ru-RU' : 'en-GB');

export function money(amount, currency = 'RUB') {
  const whole = Number.isInteger(Number(amount));
  return new Intl.NumberFormat(locale(), {
    style: 'currency',
    currency: currency || 'RUB',
    currencyDisplay: 'narrowSymbol',
    minimumFractionDigits: whole ? 0 : 2,
    maximumFractionDigits: 2,
  }).format(Number(amount) || 0);
}

/** PocketBase dates are "2024-01-02 03:04:05.678Z" (UTC). */
export function parseDate(value) {
  if (!value) return null;
  const d = new Date(String(value).replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function dateTime(value) {
  const d = parseDate(value);
  if (!d) return '';
  return new Intl.DateTimeFormat(locale(), {
    day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
    year: d.getFullYear() === new Date().getFullYear() ? undefined : 'numeric',
  }).format(d);
}

export function dateOnly(value) {
  const d = parseDate(value);
  if (!d) return '';
  return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'long', year: 'numeric' }).format(d);
}
