/**
 * Polls `check` until it returns a value (not undefined/false), failing after `ms` with the last
 * error and, when given, a dump of the state that explains the failure.
 */
export async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined | false>, dump?: () => Promise<unknown>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const state = dump ? `\nstate: ${JSON.stringify(await dump().catch((err: Error) => err.message))}` : '';
  throw new Error(`${what} did not happen within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}${state}`);
}

/** GET `url` as JSON; anything but 200 is an error. */
export async function getJson<T>(url: string, timeoutMs = 5000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as T;
}
