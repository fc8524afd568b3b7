// The Venues view: for the selected window, every venue of the registry (/api/venues), also
// those with nothing yet, with its feed's completeness (complete / sampled), its share of the
// window's liquidated USD and of the count (from the summary's `by_exchange` split), and its
// collector's state (from the health poll); where the venue's numbers rest on a rule that is
// inferred or decided at run time (the health `notes`), the state unfolds them under the row
// (and shows them as its tooltip). Sorted by USD share, largest first.
//
// It adds no request of its own: the venue list, the summaries (REST, then the live stream)
// and the health documents are the ones the page already fetches, handed over by app.js.
//
// Shares are computed from whole cents with integer arithmetic (BigInt), rounded half up to
// a tenth of a percent, so they match a recount from /api/summary exactly; an empty window
// gives 0.0%, never NaN. Raw values sit in data-* attributes for tests and tools.

import { el, replaceChildren } from "./dom.js";
import { formatInt, formatUsdCompact, formatUsdExact } from "./format.js";
import { stateOf } from "./health.js";
import { onLangChange, t } from "./i18n.js";
import { cssToken } from "./tape.js";

/** 12345.67 (USD, 2 decimals, as the API sends it) -> 1234567n cents; junk -> 0n. */
export function toCents(usd) {
  const n = Number(usd);
  return Number.isFinite(n) && n > 0 ? BigInt(Math.round(n * 100)) : 0n;
}

/** part / total in tenths of a percent, rounded half up (0 when total is 0). */
export function shareTenths(part, total) {
  const p = BigInt(part);
  const q = BigInt(total);
  if (q <= 0n || p <= 0n) return 0;
  return Number((2000n * p + q) / (2n * q));
}

/** 123 -> "12.3%". */
export function formatShare(tenths) {
  return `${Math.trunc(tenths / 10)}.${tenths % 10}%`;
}

const sideSum = (x, side) =>
  toCents(x?.[`long_${side}`]) + toCents(x?.[`short_${side}`]);
const countOf = (x) =>
  BigInt(Math.max(0, Math.trunc(Number(x?.long_count) || 0))) +
  BigInt(Math.max(0, Math.trunc(Number(x?.short_count) || 0)));

/** The state word of a venue's collector; a venue health does not list is not running. */
function collectorState(health, exchange) {
  if (!health) return "unknown";
  const c = health.collectors?.[exchange];
  return c ? stateOf(c) : "stopped";
}

/** What a venue's numbers rest on where its collector decides it at run time or infers it
 * (/api/health `collectors.<exchange>.notes`), one "key: value" line each; "" when none.
 * The collector writes it, but it is shown as text only (a title attribute), like symbols. */
export function notesText(health, exchange) {
  const notes = health?.collectors?.[exchange]?.notes;
  if (!notes || typeof notes !== "object" || Array.isArray(notes)) return "";
  const lines = Object.entries(notes).map(([k, v]) => `${k}: ${String(v)}`);
  return lines.length ? [t("venues_notes_title"), ...lines].join("\n") : "";
}

function stateLabel(state) {
  const text = t(`state_${state}`);
  return text === `state_${state}` ? state : text;
}

export class VenuesView {
  /** @param {HTMLElement} root @param {HTMLElement} title */
  constructor(root, title) {
    this.root = root;
    this.title = title;
    this.venues = []; // [{exchange, name, products, sampled}] in registry order
    this.summary = null;
    this.window = "1h";
    this.health = null;
    // venues whose notes are unfolded: kept here, since every summary rebuilds the rows
    // (a native tooltip on a row replaced every second would hardly ever show)
    this.unfolded = new Set();
    onLangChange(() => this.render());
  }

  setVenues(venues) {
    this.venues = Array.isArray(venues)
      ? venues.filter((v) => v && typeof v.exchange === "string")
      : [];
    this.render();
  }

  setSummary(summary, window) {
    this.summary = summary;
    this.window = window;
    this.render();
  }

  setWindow(window) {
    this.window = window;
    this.render();
  }

  setHealth(health) {
    this.health = health;
    this.render();
  }

  /** Rows for the selected window: registry venues, then any other exchange the split names. */
  rows() {
    const w = this.summary?.windows?.[this.window];
    const split = w?.by_exchange ?? {};
    const totalUsd = sideSum(w, "usd");
    const totalCount = countOf(w);
    const known = new Set(this.venues.map((v) => v.exchange));
    const listed = [
      ...this.venues,
      ...Object.keys(split)
        .filter((x) => !known.has(x))
        .map((exchange) => ({ exchange, name: exchange, sampled: undefined })),
    ];
    return listed
      .map((v, order) => {
        const usd = sideSum(split[v.exchange], "usd");
        const count = countOf(split[v.exchange]);
        return {
          venue: v,
          order,
          usd,
          count,
          usdTenths: shareTenths(usd, totalUsd),
          countTenths: shareTenths(count, totalCount),
        };
      })
      .sort((a, b) =>
        a.usd === b.usd ? a.order - b.order : a.usd > b.usd ? -1 : 1,
      );
  }

  render() {
    this.title.textContent = t("venues_title", { w: this.window });
    if (!this.venues.length && !this.summary) return;
    // the rows are rebuilt: a focused state (keyboard users) gets the focus back
    const focused = this.root.contains(document.activeElement)
      ? document.activeElement.closest("li.vn-row")?.dataset.exchange
      : undefined;
    replaceChildren(
      this.root,
      this.rows().map((row) => this.row(row)),
    );
    this.root.dataset.window = this.window;
    if (focused !== undefined) {
      this.root
        .querySelector(`li[data-exchange="${CSS.escape(focused)}"] .vn-state`)
        ?.focus();
    }
  }

  row({ venue, usd, count, usdTenths, countTenths }) {
    const state = collectorState(this.health, venue.exchange);
    const exchange = String(venue.exchange);
    const notes = notesText(this.health, venue.exchange);
    const bar = el(
      "span",
      { class: "vn-bar" },
      el("span", { class: "vn-fill" }),
    );
    bar.firstChild.style.width = `${usdTenths / 10}%`;
    return el(
      "li",
      { class: "vn-row", dataset: { exchange } },
      el("span", {
        class: `vn-name venue venue-${cssToken(exchange)}`,
        title: Array.isArray(venue.products)
          ? venue.products.join(", ")
          : exchange,
        text: String(venue.name ?? exchange),
      }),
      typeof venue.sampled === "boolean"
        ? el("span", {
            class: `vn-feed h-feed ${venue.sampled ? "feed-sampled" : "feed-complete"}`,
            title: t(
              venue.sampled ? "feed_sampled_title" : "feed_complete_title",
            ),
            text: t(venue.sampled ? "feed_sampled" : "feed_complete"),
          })
        : el("span", { class: "vn-feed" }),
      el(
        "span",
        {
          class: "vn-usd",
          title: `${t("venues_usd_share")} · ${formatUsdExact(Number(usd) / 100)}`,
          dataset: { value: usdTenths, cents: String(usd) },
        },
        formatShare(usdTenths),
        el("small", { text: ` ${formatUsdCompact(Number(usd) / 100)}` }),
      ),
      el(
        "span",
        {
          class: "vn-count",
          title: t("venues_count_share"),
          dataset: { value: countTenths, count: String(count) },
        },
        formatShare(countTenths),
        el("small", { text: ` ×${formatInt(Number(count))}` }),
      ),
      el("span", {
        class: `vn-state state-${cssToken(state)}${notes ? " vn-notes" : ""}`,
        dataset: { state },
        title: notes || undefined,
        ...(notes ? this.toggle(exchange) : {}),
        text: stateLabel(state),
      }),
      bar,
      notes && this.unfolded.has(exchange)
        ? el("div", { class: "vn-notes-text", text: notes })
        : null,
    );
  }

  /** A state with notes unfolds them under its row (click, Enter or Space). */
  toggle(exchange) {
    const flip = () => {
      if (!this.unfolded.delete(exchange)) this.unfolded.add(exchange);
      this.render();
    };
    return {
      role: "button",
      tabindex: "0",
      "aria-expanded": String(this.unfolded.has(exchange)),
      onclick: flip,
      onkeydown: (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          flip();
        }
      },
    };
  }
}
