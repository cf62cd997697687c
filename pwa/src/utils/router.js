// Client routes on the History API; the backend answers index.html for every one of them.

export function createRouter(onRoute) {
  window.addEventListener('popstate', () => onRoute(location.pathname, { pop: true }));
  return {
    go(path, { replace = false } = {}) {
      if (path !== location.pathname) history[replace ? 'replaceState' : 'pushState'](null, '', path);
      onRoute(path);
    },
    get path() {
      return location.pathname;
    },
  };
}
