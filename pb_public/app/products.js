// The shop's catalogue. Prices are in roubles; the server computes the
// order total from the items it is sent.

export const PRODUCTS = [
  {
    id: 'sencha',
    price: 590,
    name: { en: 'Sencha Kyoto', ru: 'Сенча Киото' },
    kind: { en: 'Green tea · 100 g', ru: 'Зелёный чай · 100 г' },
    text: {
      en: 'Steamed Japanese green tea: fresh, grassy, with a sweet finish.',
      ru: 'Японский пропаренный зелёный чай: свежий, травянистый, со сладким послевкусием.',
    },
  },
  {
    id: 'assam',
    price: 450,
    name: { en: 'Assam Breakfast', ru: 'Ассам к завтраку' },
    kind: { en: 'Black tea · 100 g', ru: 'Чёрный чай · 100 г' },
    text: {
      en: 'Strong and malty, made for milk. A morning in a cup.',
      ru: 'Крепкий, солодовый, хорош с молоком. Утро в одной чашке.',
    },
  },
  {
    id: 'oolong',
    price: 890,
    name: { en: 'Da Hong Pao', ru: 'Да Хун Пао' },
    kind: { en: 'Oolong · 50 g', ru: 'Улун · 50 г' },
    text: {
      en: 'Roasted rock oolong from Wuyi: stone fruit, honey and warm toast.',
      ru: 'Утёсный улун с гор Уишань: косточковые фрукты, мёд и тёплый хлеб.',
    },
  },
  {
    id: 'chamomile',
    price: 390,
    name: { en: 'Chamomile & Mint', ru: 'Ромашка и мята' },
    kind: { en: 'Herbal · 60 g', ru: 'Травяной сбор · 60 г' },
    text: {
      en: 'Whole chamomile flowers with garden mint. No caffeine, calm evenings.',
      ru: 'Цветки ромашки и садовая мята. Без кофеина, для спокойного вечера.',
    },
  },
  {
    id: 'ethiopia',
    price: 1190,
    name: { en: 'Ethiopia Yirgacheffe', ru: 'Эфиопия Иргачеффе' },
    kind: { en: 'Coffee beans · 250 g', ru: 'Кофе в зёрнах · 250 г' },
    text: {
      en: 'Light roast for filter: jasmine, bergamot and lemon.',
      ru: 'Светлая обжарка под фильтр: жасмин, бергамот и лимон.',
    },
  },
  {
    id: 'espresso',
    price: 990,
    name: { en: 'House Espresso', ru: 'Эспрессо дома' },
    kind: { en: 'Coffee beans · 250 g', ru: 'Кофе в зёрнах · 250 г' },
    text: {
      en: 'Brazil and Colombia: chocolate, nuts, a long sweet crema.',
      ru: 'Бразилия и Колумбия: шоколад, орехи, плотная сладкая крема.',
    },
  },
];

export function productById(id) {
  return PRODUCTS.find((p) => p.id === id);
}
