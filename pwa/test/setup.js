// Before every test file: a fresh IndexedDB, no saved preferences, and the English catalog.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach } from 'vitest';

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  localStorage.clear();
  localStorage.setItem('anbao.lang', 'en');
});
