// Dark (default, for night rounds) or light theme, persisted.
import { getPref, setPref } from './prefs.js';

const COLORS = { dark: '#0f1419', light: '#f5f7fa' };

export function getTheme() {
  return getPref('theme') === 'light' ? 'light' : 'dark';
}

export function applyTheme(theme = getTheme()) {
  document.documentElement.dataset.theme = theme;
  document.querySelector('meta[name="theme-color"]')?.setAttribute('content', COLORS[theme]);
}

export function toggleTheme() {
  const next = getTheme() === 'dark' ? 'light' : 'dark';
  setPref('theme', next);
  applyTheme(next);
  return next;
}
