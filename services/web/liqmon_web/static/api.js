// The dashboard's only way to the server: the public JSON API. Every call has a
// timeout so a hung server shows up as an error instead of a frozen view.

const TIMEOUT_MS = 8000;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Build "/api/x?a=1&b=2" from a params object, skipping empty values. */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "")
      query.set(name, String(value));
  }
  const text = query.toString().replace(/%2C/gi, ",");
  return text ? `${path}?${text}` : path;
}

export async function getJson(path, params = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(apiUrl(path, params), {
      signal: controller.signal,
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const body = await response.json();
        detail =
          typeof body.error === "string"
            ? body.error
            : JSON.stringify(body.detail ?? body);
      } catch {
        /* not JSON: keep the status text */
      }
      throw new ApiError(response.status, `${response.status} ${detail}`);
    }
    return await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw new ApiError(0, "timeout");
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export const getSummary = (top) => getJson("/api/summary", top ? { top } : {});
export const getLiquidations = (params) => getJson("/api/liquidations", params);

/**
 * Up to `limit` newest matching liquidations, newest first. The server scans a bounded
 * slice of the stream per request (10,000 entries by default), so a rare filter can get a
 * short page, even an empty one, with a `next` cursor: follow it, at most `pages` requests.
 */
export async function getRecentLiquidations(query, limit, pages) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < pages && items.length < limit; page += 1) {
    const body = await getLiquidations({
      ...query,
      limit: limit - items.length,
      cursor,
    });
    items.push(...(body.items ?? []));
    cursor = body.next;
    if (!cursor) break;
  }
  return items;
}
export const getSymbol = (symbol) =>
  getJson(`/api/symbols/${encodeURIComponent(symbol)}`);
export const getSeries = (params) => getJson("/api/series", params);
export const getHealth = () => getJson("/api/health");

/**
 * The windows in display order: the server's. It sends `windows` shortest first, and a
 * parsed JSON object keeps its keys in that order (none is an array index), so the
 * dashboard keeps no list of its own: a window added on the server shows up in place.
 */
export function windowNames(windows) {
  return Object.keys(windows ?? {});
}

/** The first field among `names` that `obj` has (not null): for a response field the
 * server may spell more than one way. */
export function pick(obj, ...names) {
  for (const name of names)
    if (obj && obj[name] !== undefined && obj[name] !== null) return obj[name];
  return undefined;
}
