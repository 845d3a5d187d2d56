/**
 * What separates programs from the operator on the node's own origin.
 *
 * The operator's cookie (`token`, see routes/about.ts) is host-only on the node's domain, so a
 * browser sends it with every request to that host, `/vm/{ref}/…` included, whatever its Path.
 * Two consequences, two defences here:
 * - the proxy removes the node's cookie from the `Cookie` header it forwards on the path form
 *   (the program's own cookies pass), and drops a program's `Set-Cookie` of that name where it
 *   would land on the node's host (path form, or a `Domain` attribute on the host form);
 * - a page served on the path form shares the node's origin and could `fetch('/about/config')`
 *   with the operator's cookie and read the answer. With `programPathSandbox` on, path-form
 *   responses carry `Content-Security-Policy: sandbox …` WITHOUT `allow-same-origin`: the page
 *   runs in an opaque origin, its requests are cross-site (the SameSite=Strict cookie is not
 *   sent) and cross-origin (the operator routes send no CORS headers), and it cannot script
 *   same-origin frames. The price, for path-form pages only: no cookies, no localStorage, and
 *   fetches to their own paths are cross-origin (the program must answer CORS). Programs that
 *   need those use the host form `<base32 hash>.<domain>`, their own origin, which is unchanged.
 */

/** The node's operator cookie name (crn-api.md §2.3). */
export const NODE_COOKIE = 'token';

/** The sandbox of path-form program pages: everything a page may do except keep the node's origin. */
export const PROGRAM_PATH_CSP =
  'sandbox allow-scripts allow-forms allow-modals allow-popups allow-popups-to-escape-sandbox allow-downloads allow-pointer-lock allow-presentation allow-top-navigation-by-user-activation';

function cookieName(pair: string): string {
  const eq = pair.indexOf('=');
  return eq < 0 ? '' : pair.slice(0, eq).trim();
}

/** The `Cookie` header without the node's cookie; undefined when nothing is left. */
export function withoutNodeCookie(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const pairs = (Array.isArray(header) ? header.join('; ') : header).split(';').map((p) => p.trim());
  const kept = pairs.filter((p) => p !== '' && cookieName(p) !== NODE_COOKIE);
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/** A program's `Set-Cookie` values without those that would set the node's cookie on the node's host. */
export function withoutNodeSetCookie(values: string | string[] | undefined, pathForm: boolean): string[] | undefined {
  if (values === undefined) return undefined;
  const kept = (Array.isArray(values) ? values : [values]).filter((v) => {
    const first = v.split(';', 1)[0] ?? '';
    if (cookieName(first) !== NODE_COOKIE) return true;
    return !pathForm && !/;\s*domain\s*=/i.test(v);
  });
  return kept.length > 0 ? kept : undefined;
}

/** Adds the path-form sandbox to a program's response headers, keeping any policy of its own (both apply). */
export function withPathSandbox(existing: string | string[] | undefined): string[] {
  if (existing === undefined) return [PROGRAM_PATH_CSP];
  return [...(Array.isArray(existing) ? existing : [existing]), PROGRAM_PATH_CSP];
}
