/**
 * HTTP calls of the operator commands. A failed call says which URL and why (connection refused,
 * unknown host, timeout...), never just `fetch failed`: undici hides the cause in `err.cause`.
 */

export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

/** The most telling message of a fetch failure: the system error under undici's `fetch failed`. */
export function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
  let deepest: unknown = err;
  while (deepest instanceof Error && deepest.cause instanceof Error) deepest = deepest.cause;
  if (deepest instanceof Error) {
    // AggregateError (several addresses tried) has an empty message: its code or first error says it.
    const code = (deepest as { code?: unknown }).code;
    const first = deepest instanceof AggregateError ? (deepest.errors[0] as Error | undefined) : undefined;
    return deepest.message || first?.message || (typeof code === 'string' ? code : '') || err.message;
  }
  return err.message;
}

/** fetch with a timeout, whose failure names the URL and the cause. */
export async function request(url: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new NetworkError(`cannot reach ${url}: ${causeOf(err)}`);
  }
}

/** GET a JSON document; a non-2xx answer or a body that is not JSON is an error naming the URL. */
export async function getJson(url: string, timeoutMs = 30_000): Promise<unknown> {
  const res = await request(url, {}, timeoutMs);
  const text = await res.text().catch((err: unknown) => {
    throw new NetworkError(`reading the answer of ${url} failed: ${causeOf(err)}`);
  });
  if (!res.ok) throw new NetworkError(`${url} answered ${res.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new NetworkError(`${url} did not answer JSON (is it the right node?)`);
  }
}
