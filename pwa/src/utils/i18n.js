// Message catalogs (UI strings here, error texts from the backend's catalogs) and the language.
import uiEn from '../i18n/en.json';
import uiZh from '../i18n/zh-CN.json';
import apiEn from '../../../backend/locales/en.json';
import apiZh from '../../../backend/locales/zh-CN.json';
import { getPref, setPref } from './prefs.js';

export const LANGS = ['zh-CN', 'en'];
const CATALOGS = {
  'zh-CN': { ...apiZh, ...uiZh },
  en: { ...apiEn, ...uiEn },
};

let lang = pickLang();
const listeners = new Set();

function pickLang() {
  const saved = getPref('lang');
  if (LANGS.includes(saved)) return saved;
  const wanted = navigator.languages?.length ? navigator.languages : [navigator.language || 'en'];
  return String(wanted[0] || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!LANGS.includes(next)) return;
  lang = next;
  setPref('lang', next);
  applyLang();
  for (const fn of listeners) fn(next);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function applyLang() {
  document.documentElement.lang = lang;
  document.title = `${CATALOGS[lang]['app.name']} ${lang === 'en' ? '' : 'Anbao'}`.trim();
}

export function has(key) {
  return key in CATALOGS[lang] || key in CATALOGS.en;
}

/** The text for `key` in the current language, with `{name}` placeholders filled from params. */
export function t(key, params = {}) {
  let text = CATALOGS[lang][key] ?? CATALOGS.en[key];
  if (text == null) {
    // Visible in the console so tests catch it; the raw key is shown rather than nothing.
    console.warn(`[i18n] missing key: ${key}`);
    text = key;
  }
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}
