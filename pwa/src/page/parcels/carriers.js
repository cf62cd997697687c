// Carriers a guard picks from (their brand names, as printed on the labels: data, not UI text),
// and the one a tracking number's prefix names.
export const CARRIERS = [
  '顺丰 SF Express',
  '京东 JD',
  '中通 ZTO',
  '圆通 YTO',
  '韵达 Yunda',
  '申通 STO',
  '极兔 J&T',
  'EMS',
  '邮政 China Post',
  '德邦 Deppon',
  '菜鸟 Cainiao',
];

const PREFIXES = [
  [/^SF\d{10,}$/, '顺丰 SF Express'],
  [/^JD[A-Z]?\d{9,}$/, '京东 JD'],
  [/^ZT\d{8,}$/, '中通 ZTO'],
  [/^YT\d{8,}$/, '圆通 YTO'],
  [/^JT\d{10,}$/, '极兔 J&T'],
  [/^DPK\d{8,}$/, '德邦 Deppon'],
  [/^E[A-Z]\d{9}[A-Z]{2}$/, 'EMS'], // UPU S10, as EMS prints it
];

/** The carrier a tracking number's shape names, or ''. */
export function carrierOf(number) {
  const text = String(number || '').toUpperCase();
  return PREFIXES.find(([re]) => re.test(text))?.[1] || '';
}
