// Small user preferences kept in localStorage (language, theme, device id, chosen membership).
const PREFIX = 'anbao.';

export function getPref(name) {
  try {
    return localStorage.getItem(PREFIX + name);
  } catch {
    return null; // storage blocked: behave as a first visit
  }
}

export function setPref(name, value) {
  try {
    if (value == null) localStorage.removeItem(PREFIX + name);
    else localStorage.setItem(PREFIX + name, String(value));
  } catch {
    // storage blocked: the preference lasts for this page only
  }
}
