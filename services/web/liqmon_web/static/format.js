// Number and time formatting for the dashboard. Money arrives as JSON numbers with two
// decimals (exact cents server-side); prices arrive as decimal strings and are never
// turned into floats, so a price is shown with exactly the digits the exchange sent.

const UNITS = [
  [1e12, "T"],
  [1e9, "B"],
  [1e6, "M"],
  [1e3, "K"],
];

/** Thousands separators on an integer (or integer-valued number): 1234567 -> "1,234,567". */
export function formatInt(value) {
  const n = Math.round(Number(value) || 0);
  const sign = n < 0 ? "-" : "";
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Compact USD: $950, $12.3K, $1.23M, $4.56B (three significant digits from 1K up). */
export function formatUsdCompact(value) {
  const n = Number(value) || 0;
  const abs = Math.abs(n);
  const sign = n < 0 ? "-" : "";
  for (const [size, unit] of UNITS) {
    if (abs >= size * 0.9995) {
      const scaled = abs / size;
      const digits = scaled >= 100 ? 0 : scaled >= 10 ? 1 : 2;
      return `${sign}$${scaled.toFixed(digits)}${unit}`;
    }
  }
  return `${sign}$${formatInt(abs)}`;
}

/** Full USD without cents below a million ($123,456), compact from a million up ($1.23M). */
export function formatUsd(value) {
  const n = Number(value) || 0;
  return Math.abs(n) >= 1e6
    ? formatUsdCompact(n)
    : `${n < 0 ? "-" : ""}$${formatInt(Math.abs(n))}`;
}

/** Exact USD with cents and separators: 1234.5 -> "$1,234.50" (for tooltips). */
export function formatUsdExact(value) {
  const n = Number(value) || 0;
  const cents = Math.round(Math.abs(n) * 100);
  const whole = Math.floor(cents / 100);
  const frac = String(cents % 100).padStart(2, "0");
  return `${n < 0 ? "-" : ""}$${formatInt(whole)}.${frac}`;
}

/** A decimal string with separators on its integer part, digits kept: "97000.50" -> "97,000.50". */
export function formatPrice(text) {
  if (text === null || text === undefined) return "–";
  const s = String(text);
  if (!/^-?\d+(\.\d+)?$/.test(s)) return s;
  const [whole, frac] = s.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

/** Significant digits of a computed price (an average): enough to tell ticks apart. */
export const PRICE_DIGITS = 6;

/**
 * A price from a JSON number (averages) with PRICE_DIGITS significant digits, never in
 * exponent notation, separators on the integer part, trailing zeros dropped:
 * 97012.3456 -> "97,012.3", 0.0000105019 -> "0.0000105019", 1.2e-9 -> "0.0000000012".
 * A fixed number of decimals would show a coin priced per single unit (1.2e-9) as "0".
 * Integer digits are never rounded away: 1234567.8 -> "1,234,568".
 */
export function formatPriceNumber(value) {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return "–";
  const magnitude = Math.floor(Math.log10(n)); // 0 for 1..9.99, -6 for 0.000001..
  const decimals = Math.min(100, Math.max(0, PRICE_DIGITS - 1 - magnitude));
  // toFixed switches to exponent notation from 1e21 up; BigInt never does.
  const fixed =
    n < 1e21 ? n.toFixed(decimals) : BigInt(Math.round(n)).toString();
  const [whole, frac = ""] = fixed.split(".");
  const trimmed = frac.replace(/0+$/, "");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return trimmed ? `${grouped}.${trimmed}` : grouped;
}

const pad2 = (n) => String(n).padStart(2, "0");

/** Local wall-clock time with seconds, 24 h: "14:03:27". */
export function formatTime(ms) {
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return "--:--:--";
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Local date and time with seconds: "2026-11-28 14:03:27". */
export function formatDateTime(ms) {
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return "–";
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${formatTime(ms)}`;
}

/** An age in milliseconds as "3s", "4m 05s", "2h 10m", "3d 4h". */
export function formatAge(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0) return "–";
  const s = Math.floor(n / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A share as a percentage with one decimal: 0.4567 -> "45.7%". */
export function formatShare(fraction) {
  const n = Number(fraction);
  return Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : "–";
}

/** Product id without its exchange prefix: "binance-usdm" -> "usdm". */
export function shortProduct(exchange, product) {
  const p = String(product ?? "");
  const prefix = `${exchange}-`;
  return p.startsWith(prefix) ? p.slice(prefix.length) : p;
}

/** Size tier of one liquidation by USD (0 small … 4 whale); drives colour, weight, sound. */
export const TIERS = [10_000, 100_000, 500_000, 1_000_000];
export function tierOf(usd) {
  const n = Number(usd) || 0;
  let tier = 0;
  for (const bound of TIERS) if (n >= bound) tier += 1;
  return tier;
}

/** Compare two Redis stream ids ("<ms>-<seq>") numerically: <0, 0, >0. */
export function compareStreamIds(a, b) {
  const [am, as = "0"] = String(a).split("-");
  const [bm, bs = "0"] = String(b).split("-");
  const dm = Number(am) - Number(bm);
  return dm !== 0 ? Math.sign(dm) : Math.sign(Number(as) - Number(bs));
}
