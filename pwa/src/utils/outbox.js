// The outbox of unsent mutations (sync protocol); for now only the question sign-out asks.

/** How many mutations are written on this phone but not yet accepted by the server. */
export async function hasUnsent() {
  return 0;
}

/** Deletes everything queued on this phone (after the user agreed to lose it). */
export async function clearOutbox() {}
