// IndexedDB: what must survive an offline cold start (the signed-in user; later the outbox).
import { openDB } from 'idb';

const DB_NAME = 'anbao';
const DB_VERSION = 1;
let dbPromise = null;

function db() {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) database.createObjectStore('session');
    },
  });
  return dbPromise;
}

export async function loadSession() {
  try {
    return (await (await db()).get('session', 'me')) ?? null;
  } catch {
    return null; // storage unavailable: behave as signed out
  }
}

export async function saveSession(me) {
  await (await db()).put('session', me, 'me');
}

export async function clearSession() {
  await (await db()).clear('session');
}
