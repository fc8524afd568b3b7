// The tape's filters: coins, exchanges, side, minimum USD. They are applied by the SERVER
// (query params of /api/stream and /api/liquidations use the same names), and kept in the
// URL (so a link reproduces the view) and in localStorage (so a bare visit restores it).
// The URL wins when it carries any filter; otherwise the stored copy is used.

import { safeGet, safeSet } from "./i18n.js";

const STORE_KEY = "liqmon.filters";
const FILTER_PARAMS = ["symbol", "exchange", "side", "min_usd"];

/** @typedef {{symbols: string[], exchanges: string[], side: string, minUsd: number}} Filters */

export function emptyFilters() {
  return { symbols: [], exchanges: [], side: "", minUsd: 0 };
}

function splitList(text, upper) {
  const seen = new Set();
  for (const raw of String(text ?? "").split(/[,\s，]+/)) {
    const item = upper ? raw.trim().toUpperCase() : raw.trim().toLowerCase();
    if (item && item.length <= 64) seen.add(item);
  }
  return [...seen];
}

/** Normalise anything filter-like into a valid Filters object. */
export function normalize(raw) {
  const f = emptyFilters();
  if (!raw) return f;
  f.symbols = Array.isArray(raw.symbols)
    ? splitList(raw.symbols.join(","), true)
    : [];
  f.exchanges = Array.isArray(raw.exchanges)
    ? splitList(raw.exchanges.join(","), false)
    : [];
  f.side = raw.side === "long" || raw.side === "short" ? raw.side : "";
  const min = Number(raw.minUsd);
  f.minUsd = Number.isFinite(min) && min > 0 ? Math.floor(min) : 0;
  return f;
}

function fromParams(params) {
  return normalize({
    symbols: splitList(params.get("symbol"), true),
    exchanges: splitList(params.get("exchange"), false),
    side: params.get("side") ?? "",
    minUsd: params.get("min_usd") ?? 0,
  });
}

/** The filters to start with: from the URL if it has any, else from localStorage. */
export function loadFilters() {
  const params = new URLSearchParams(location.search);
  if (FILTER_PARAMS.some((name) => params.has(name))) return fromParams(params);
  try {
    return normalize(JSON.parse(safeGet(STORE_KEY) ?? "null"));
  } catch {
    return emptyFilters();
  }
}

/** The API query params for these filters (only the ones that cut something). */
export function toQuery(filters) {
  const q = {};
  if (filters.symbols.length) q.symbol = filters.symbols.join(",");
  if (filters.exchanges.length) q.exchange = filters.exchanges.join(",");
  if (filters.side) q.side = filters.side;
  if (filters.minUsd > 0) q.min_usd = String(filters.minUsd);
  return q;
}

export function isEmpty(filters) {
  return Object.keys(toQuery(filters)).length === 0;
}

/** Remember the filters: rewrite the URL's filter params (others stay) and localStorage. */
export function saveFilters(filters) {
  safeSet(STORE_KEY, JSON.stringify(filters));
  const params = new URLSearchParams(location.search);
  for (const name of FILTER_PARAMS) params.delete(name);
  for (const [name, value] of Object.entries(toQuery(filters)))
    params.set(name, value);
  setUrlParams(params);
}

/** Set or remove one non-filter URL param (window, range, lang) without reloading. */
export function setUrlParam(name, value) {
  const params = new URLSearchParams(location.search);
  if (value === null || value === undefined || value === "")
    params.delete(name);
  else params.set(name, value);
  setUrlParams(params);
}

function setUrlParams(params) {
  const query = params.toString().replace(/%2C/gi, ",");
  history.replaceState(
    null,
    "",
    `${location.pathname}${query ? `?${query}` : ""}${location.hash}`,
  );
}

/** Read the form into Filters. */
export function readForm(form) {
  const exchanges = Array.from(
    form.querySelectorAll("input[name=exchange]:checked"),
    (i) => i.value,
  );
  const all = form.querySelectorAll("input[name=exchange]").length;
  return normalize({
    symbols: splitList(form.elements.symbol.value, true),
    // every box ticked means "no exchange filter" (so a new venue is included automatically)
    exchanges: exchanges.length === all ? [] : exchanges,
    side: form.elements.side.value,
    minUsd: form.elements.min_usd.value,
  });
}

/** Show Filters in the form. */
export function writeForm(form, filters) {
  form.elements.symbol.value = filters.symbols.join(",");
  for (const box of form.querySelectorAll("input[name=exchange]")) {
    box.checked =
      filters.exchanges.length === 0 || filters.exchanges.includes(box.value);
  }
  form.elements.side.value = filters.side;
  form.elements.min_usd.value =
    filters.minUsd > 0 ? String(filters.minUsd) : "";
}
