// Inline SVG icons (24×24, stroke = currentColor) and the product
// illustrations. Static strings only: nothing here comes from data.

import { svgFromString } from './dom.js';

const stroke = (body, extra = '') =>
  `<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false" ${extra}>${body}</svg>`;

const ICONS = {
  logo: `<svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true" focusable="false"><circle cx="16" cy="16" r="16" fill="#2f6f4f"/><path d="M9 21c0-7 5-12 14-12-1 8-5 13-12 13" fill="#cfe8d5"/><path d="M9.5 22.5C12 18 15 15 19 12.5" fill="none" stroke="#2f6f4f" stroke-width="1.6" stroke-linecap="round"/></svg>`,
  catalogue: stroke('<path d="M3 9.5 12 4l9 5.5"/><path d="M5 10v9h14v-9"/><path d="M10 19v-5h4v5"/>'),
  orders: stroke('<path d="M21 8 12 3 3 8v8l9 5 9-5z"/><path d="m3 8 9 5 9-5"/><path d="M12 13v8"/><path d="m7.5 5.5 9 5"/>'),
  inbox: stroke('<path d="M3 13h5l1.5 3h5L16 13h5"/><path d="M5.5 5h13L21 13v6H3v-6z"/>'),
  settings: stroke('<path d="M4 7h9M17 7h3M4 17h3M11 17h9"/><circle cx="15" cy="7" r="2"/><circle cx="9" cy="17" r="2"/>'),
  user: stroke('<circle cx="12" cy="8" r="4"/><path d="M4 21c1.5-4 4.5-6 8-6s6.5 2 8 6"/>'),
  signout: stroke('<path d="M15 4h4v16h-4"/><path d="M10 8l-4 4 4 4"/><path d="M6 12h10"/>'),
  cart: stroke('<path d="M3 4h2l2.2 11h10.6L20 7H6.2"/><circle cx="9" cy="19.5" r="1.3"/><circle cx="17" cy="19.5" r="1.3"/>'),
  plus: stroke('<path d="M12 5v14M5 12h14"/>'),
  minus: stroke('<path d="M5 12h14"/>'),
  trash: stroke('<path d="M4 7h16"/><path d="M9 7V4h6v3"/><path d="M6 7l1 13h10l1-13"/>'),
  check: stroke('<path d="m5 12.5 4.5 4.5L19 7.5"/>'),
  x: stroke('<path d="M6 6l12 12M18 6 6 18"/>'),
  back: stroke('<path d="M15 5l-7 7 7 7"/>'),
  external: stroke('<path d="M14 4h6v6"/><path d="M20 4 11 13"/><path d="M18 14v6H4V6h6"/>'),
  truck: stroke('<path d="M2 6h11v10H2z"/><path d="M13 10h4l4 3.5V16h-8"/><circle cx="6" cy="17.5" r="1.8"/><circle cx="17" cy="17.5" r="1.8"/>'),
  alert: stroke('<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5"/><path d="M12 16.5v.01"/>'),
  info: stroke('<circle cx="12" cy="12" r="9"/><path d="M12 11v5.5"/><path d="M12 7.5v.01"/>'),
  // Channels
  email: stroke('<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3.5 6.5 8.5 6.5 8.5-6.5"/>'),
  telegram: stroke('<path d="M21 4 3 11l6.5 2.5L18 7.5l-6.5 7.5 6 4.5z"/>'),
  webpush: stroke('<path d="M6 16V11a6 6 0 1 1 12 0v5l1.5 2h-15z"/><path d="M10 20.5a2 2 0 0 0 4 0"/>'),
  inboxChannel: stroke('<path d="M4 5h16v11H9l-5 4z"/><path d="M8 9.5h8M8 12.5h5"/>'),
};

/** An icon element; `name` is a key of ICONS. */
export function icon(name, className = 'icon') {
  const el = svgFromString(ICONS[name] || ICONS.info);
  el.setAttribute('class', className);
  return el;
}

export function channelIcon(channel, className = 'icon') {
  return icon(channel === 'inbox' ? 'inboxChannel' : channel, className);
}

// Product illustrations: 160×120, flat, calm colours.
const ART = {
  sencha: `<svg viewBox="0 0 160 120" aria-hidden="true" focusable="false">
    <rect width="160" height="120" fill="#e4f1e4"/>
    <circle cx="128" cy="22" r="30" fill="#d3e9d3"/>
    <path d="M70 30c-6-8 6-12 0-20M84 30c-6-8 6-12 0-20" stroke="#9cc59c" stroke-width="3" fill="none" stroke-linecap="round"/>
    <path d="M46 44h62l-6 36c-1.5 8-8 14-16 14H68c-8 0-14.5-6-16-14z" fill="#ffffff"/>
    <path d="M50 52h54l-1 6H51z" fill="#7fb77e"/>
    <path d="M108 52c10 0 14 6 12 12s-8 9-16 8" stroke="#ffffff" stroke-width="5" fill="none"/>
    <ellipse cx="77" cy="100" rx="44" ry="6" fill="#c8e0c8"/>
    <path d="M30 96c4-14 16-20 28-18-4 12-14 19-28 18z" fill="#5d9e5c"/>
    <path d="M32 95c8-6 14-10 24-15" stroke="#e4f1e4" stroke-width="1.5" fill="none"/>
  </svg>`,
  assam: `<svg viewBox="0 0 160 120" aria-hidden="true" focusable="false">
    <rect width="160" height="120" fill="#f6e7da"/>
    <circle cx="30" cy="24" r="26" fill="#f0d9c5"/>
    <ellipse cx="80" cy="102" rx="50" ry="6" fill="#e8cfba"/>
    <path d="M50 62c0-16 13-26 30-26s30 10 30 26-10 36-30 36-30-20-30-36z" fill="#b5552b"/>
    <path d="M52 66h56" stroke="#f6e7da" stroke-width="3"/>
    <rect x="72" y="28" width="16" height="8" rx="3" fill="#8e3f1d"/>
    <circle cx="80" cy="26" r="4" fill="#8e3f1d"/>
    <path d="M109 58c14-2 18 10 10 18-4 4-8 5-11 5" stroke="#8e3f1d" stroke-width="5" fill="none" stroke-linecap="round"/>
    <path d="M56 62C46 60 38 54 33 45l-4-5c-2-2-5 0-4 2l5 9c5 12 13 22 24 28z" fill="#b5552b"/>
  </svg>`,
  oolong: `<svg viewBox="0 0 160 120" aria-hidden="true" focusable="false">
    <rect width="160" height="120" fill="#f7edd3"/>
    <circle cx="134" cy="96" r="34" fill="#f1e2bd"/>
    <g fill="#a8782e">
      <path d="M40 74c6-26 30-38 54-34-6 26-28 40-54 34z"/>
      <path d="M78 86c10-20 32-26 50-18-10 20-32 28-50 18z" fill="#c6954a"/>
      <path d="M56 42c2-14 14-22 28-20-2 14-14 22-28 20z" fill="#7d5a22"/>
    </g>
    <path d="M42 73c14-10 28-20 50-32M80 85c14-6 26-12 46-16M57 41c8-6 16-12 26-18" stroke="#f7edd3" stroke-width="1.6" fill="none"/>
    <circle cx="110" cy="40" r="5" fill="#7d5a22"/><circle cx="122" cy="48" r="4" fill="#a8782e"/><circle cx="104" cy="52" r="3.5" fill="#c6954a"/>
  </svg>`,
  chamomile: `<svg viewBox="0 0 160 120" aria-hidden="true" focusable="false">
    <rect width="160" height="120" fill="#eef3dc"/>
    <path d="M60 118c2-30 8-46 20-58M104 118c-2-22-6-34-14-44" stroke="#7ea35a" stroke-width="3" fill="none"/>
    <path d="M118 92c10-14 24-14 30-8-10 12-22 14-30 8zM40 98c-10-12-24-12-30-6 10 12 22 13 30 6z" fill="#7ea35a"/>
    <g transform="translate(80 52)">
      <g fill="#ffffff" stroke="#e2e8cf" stroke-width="1">
        <ellipse rx="7" ry="18" transform="rotate(0) translate(0 -20)"/><ellipse rx="7" ry="18" transform="rotate(40) translate(0 -20)"/>
        <ellipse rx="7" ry="18" transform="rotate(80) translate(0 -20)"/><ellipse rx="7" ry="18" transform="rotate(120) translate(0 -20)"/>
        <ellipse rx="7" ry="18" transform="rotate(160) translate(0 -20)"/><ellipse rx="7" ry="18" transform="rotate(200) translate(0 -20)"/>
        <ellipse rx="7" ry="18" transform="rotate(240) translate(0 -20)"/><ellipse rx="7" ry="18" transform="rotate(280) translate(0 -20)"/>
        <ellipse rx="7" ry="18" transform="rotate(320) translate(0 -20)"/>
      </g>
      <circle r="13" fill="#f2b93b"/><circle r="13" fill="none" stroke="#e0a126" stroke-width="2" stroke-dasharray="2 3"/>
    </g>
    <g transform="translate(122 30) scale(.55)">
      <g fill="#ffffff"><ellipse rx="7" ry="16" transform="translate(0 -18)"/><ellipse rx="7" ry="16" transform="rotate(60) translate(0 -18)"/><ellipse rx="7" ry="16" transform="rotate(120) translate(0 -18)"/><ellipse rx="7" ry="16" transform="rotate(180) translate(0 -18)"/><ellipse rx="7" ry="16" transform="rotate(240) translate(0 -18)"/><ellipse rx="7" ry="16" transform="rotate(300) translate(0 -18)"/></g>
      <circle r="11" fill="#f2b93b"/>
    </g>
  </svg>`,
  ethiopia: `<svg viewBox="0 0 160 120" aria-hidden="true" focusable="false">
    <rect width="160" height="120" fill="#efe4d8"/>
    <path d="M52 22h56l6 14v64c0 4-3 6-6 6H52c-3 0-6-2-6-6V36z" fill="#c9a37c"/>
    <path d="M46 36h68" stroke="#b08a62" stroke-width="3"/>
    <path d="M52 22l-6 14M108 22l6 14" stroke="#b08a62" stroke-width="2"/>
    <rect x="58" y="52" width="44" height="34" rx="4" fill="#fbf6ef"/>
    <g transform="translate(80 69) rotate(-25)"><ellipse rx="10" ry="13" fill="#5b3a24"/><path d="M0-12c-4 6 4 18 0 24" stroke="#fbf6ef" stroke-width="2" fill="none"/></g>
    <g transform="translate(30 98) rotate(30)"><ellipse rx="8" ry="11" fill="#6e4529"/><path d="M0-10c-3 5 3 15 0 20" stroke="#efe4d8" stroke-width="1.6" fill="none"/></g>
    <g transform="translate(132 100) rotate(-40)"><ellipse rx="8" ry="11" fill="#5b3a24"/><path d="M0-10c-3 5 3 15 0 20" stroke="#efe4d8" stroke-width="1.6" fill="none"/></g>
    <g transform="translate(138 76) rotate(15)"><ellipse rx="6" ry="8" fill="#7d5233"/><path d="M0-7c-2 4 2 10 0 14" stroke="#efe4d8" stroke-width="1.4" fill="none"/></g>
  </svg>`,
  espresso: `<svg viewBox="0 0 160 120" aria-hidden="true" focusable="false">
    <rect width="160" height="120" fill="#e9ddd3"/>
    <circle cx="132" cy="24" r="28" fill="#e0d0c3"/>
    <ellipse cx="78" cy="96" rx="46" ry="9" fill="#ffffff"/>
    <ellipse cx="78" cy="94" rx="30" ry="4" fill="#e6dcd3"/>
    <path d="M50 54h56l-5 28c-1.5 7-7 12-14 12H69c-7 0-12.5-5-14-12z" fill="#ffffff"/>
    <ellipse cx="78" cy="55" rx="28" ry="5" fill="#6b3f22"/>
    <ellipse cx="74" cy="54.5" rx="12" ry="2" fill="#a9714a"/>
    <path d="M105 62c10 0 12 8 8 13s-8 6-12 5" stroke="#ffffff" stroke-width="5" fill="none"/>
    <path d="M70 44c-5-6 5-10 0-16M84 44c-5-6 5-10 0-16" stroke="#c4ad9b" stroke-width="3" fill="none" stroke-linecap="round"/>
    <g transform="translate(128 96) rotate(-30)"><ellipse rx="7" ry="10" fill="#5b3a24"/><path d="M0-9c-3 5 3 13 0 18" stroke="#e9ddd3" stroke-width="1.5" fill="none"/></g>
  </svg>`,
};

// A product the shop added in the dashboard without a picture.
const GENERIC_ART = `<svg viewBox="0 0 160 120" aria-hidden="true" focusable="false">
    <rect width="160" height="120" fill="#e6efe8"/>
    <path d="M56 84c0-26 18-44 50-44-3 30-19 47-44 46" fill="#9cc7a8"/>
    <path d="M58 86c10-14 22-24 38-32" stroke="#2f6f4f" stroke-width="3" fill="none" stroke-linecap="round"/>
  </svg>`;

export function productArt(key) {
  const el = svgFromString(ART[key] || GENERIC_ART);
  el.setAttribute('class', 'product-art');
  el.setAttribute('preserveAspectRatio', 'xMidYMid slice');
  return el;
}
