// Catalogs and the helpers that format for people (src/utils/i18n.js, format.js, messages.js).
import { beforeEach, describe, expect, it, vi } from 'vitest';
import en from '../src/i18n/en.json';
import zh from '../src/i18n/zh-CN.json';

let i18n;
let format;
let messages;
let api;

beforeEach(async () => {
  vi.resetModules();
  i18n = await import('../src/utils/i18n.js');
  format = await import('../src/utils/format.js');
  messages = await import('../src/utils/messages.js');
  api = await import('../src/utils/api.js');
});

describe('catalogs', () => {
  it('have the same keys and placeholders in both languages', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    const holes = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en)) expect(holes(zh[key]), key).toEqual(holes(en[key]));
  });

  it('fill placeholders and leave unknown ones visible', () => {
    expect(i18n.t('patrol.progress', { done: 2, total: 3 })).toBe('2 / 3 checkpoints');
    expect(i18n.t('patrol.progress', { done: 2 })).toBe('2 / {total} checkpoints');
  });

  it('switch language at once and remember it', () => {
    const heard = vi.fn();
    i18n.onLangChange(heard);
    i18n.setLang('zh-CN');
    expect(i18n.getLang()).toBe('zh-CN');
    expect(i18n.t('patrol.title')).toBe(zh['patrol.title']);
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(localStorage.getItem('anbao.lang')).toBe('zh-CN');
    expect(heard).toHaveBeenCalledWith('zh-CN');
    i18n.setLang('fr');
    expect(i18n.getLang()).toBe('zh-CN');
  });

  it('show a missing key as itself and say so on the console', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(i18n.t('patrol.no_such_text')).toBe('patrol.no_such_text');
    expect(warn).toHaveBeenCalledWith('[i18n] missing key: patrol.no_such_text');
  });

  it('hold the server’s error texts too', () => {
    expect(i18n.has('error.invalid_state')).toBe(true);
    expect(i18n.has('field.in_future')).toBe(true);
  });
});

describe('times for people', () => {
  it('show spans in seconds, minutes, then hours and minutes', () => {
    expect(format.formatSpan(40_000)).toBe(en['time.seconds'].replace('{n}', '40'));
    expect(format.formatSpan(45 * 60_000)).toBe(en['time.minutes'].replace('{n}', '45'));
    expect(format.formatSpan(125 * 60_000)).toBe(en['time.hours_minutes'].replace('{h}', '2').replace('{m}', '5'));
    expect(format.formatSpan(-5)).toBe(en['time.seconds'].replace('{n}', '0'));
  });

  it('show the clock in the site’s time zone, not the phone’s, the way the language writes it', () => {
    expect(format.formatClock('2026-11-24T13:05:00Z', 'Asia/Shanghai')).toMatch(/^0?9:05\sPM$/);
    expect(format.formatClock('2026-11-24T13:05:00Z', 'Europe/London')).toMatch(/^0?1:05\sPM$/);
    i18n.setLang('zh-CN');
    expect(format.formatClock('2026-11-24T13:05:00Z', 'Asia/Shanghai')).toBe('21:05');
    expect(format.formatClock('not a time', 'Asia/Shanghai')).toBe('not a time');
  });

  it('say "never" for a time that is not there', () => {
    expect(format.formatTime(null, 'Asia/Shanghai')).toBe(en['common.never']);
    expect(format.formatTime('2026-11-24T13:05:00Z', 'Asia/Shanghai')).toContain('9:05');
  });
});

describe('error lines', () => {
  it('name the server’s code and each bad field in the person’s language', () => {
    const err = new api.ApiError(422, 'validation_failed', 'x', { fields: [{ field: 'client_time', code: 'in_future' }] });
    const lines = messages.errorLines(err);
    expect(lines[0]).toBe(i18n.t('error.validation_failed'));
    expect(lines[1]).toContain(i18n.t('field.in_future'));
  });

  it('use the server’s own message when the catalog’s needs a value only the server knows', () => {
    i18n.setLang('zh-CN');
    const field = { field: 'username', code: 'string_too_short', message: '太短（至少 1 个字符）。' };
    const [, line] = messages.errorLines(new api.ApiError(422, 'validation_failed', 'x', { fields: [field] }));
    expect(line).toContain('太短（至少 1 个字符）。');
    expect(line).not.toMatch(/\{\w+\}/);
  });

  it('tell offline apart from a refusal, and never show a raw code as text', () => {
    expect(messages.errorLines(new api.NetworkError(new TypeError('x')))).toEqual([i18n.t('client.network')]);
    expect(messages.errorLines(new api.NetworkError(null), 'signin')).toEqual([i18n.t('client.offline_signin')]);
    expect(messages.errorLines(new api.ApiError(409, 'brand_new_code', '', {}))).toEqual([i18n.t('client.unknown_code', { code: 'brand_new_code' })]);
  });

  it('know a screen whose code could not load, in each engine’s words, from any other failure', () => {
    // Then the app says the screen is not saved on the phone yet, instead of an error's name.
    const missing = [
      new TypeError('Failed to fetch dynamically imported module: http://x/assets/outbox-1.js'), // Chromium
      new TypeError('error loading dynamically imported module: http://x/assets/outbox-1.js'), // Firefox
      new TypeError('Importing a module script failed.'), // Safari
      new Error('Unable to preload CSS for /assets/incidents-1.css'), // Vite, a chunk's stylesheet
    ];
    expect(missing.map(messages.isMissingCode)).toEqual([true, true, true, true]);
    const others = [new TypeError('Cannot read properties of undefined'), new api.NetworkError(null), new Error('Failed to fetch dynamically imported module'), undefined];
    expect(others.map((err) => messages.isMissingCode(err))).toEqual([false, false, false, false]);
  });
});
