// The live tape: newest first, one row per stream entry, keyed by stream id. The stream
// carries each liquidation once (docs/EVENTS.md), so a stream id is a liquidation; the
// stream-id set only absorbs the overlap of a REST fill and live events (the coin view
// buffers live events while it loads, and some of them are in the fill too).
//
// Smooth at hundreds of events per second, cheap at thousands: incoming events only go
// into a queue, and a flush (in a requestAnimationFrame callback) builds the new rows in a
// DocumentFragment, inserts them at the top in one operation and trims the bottom to
// MAX_ROWS. On a calm tape a flush comes every frame, so a print shows at once. On a busy
// one (the last flush brought more than FLASH_ROWS rows) flushes come at most every
// BUSY_FLUSH_MS: every flush moves the whole visible tape, so its styling, layout and
// paint grow far slower than its rows (at 1,000 events/s, about 14 ms of CPU for 22 rows
// against 26 ms for 100), and a flush per frame made the open dashboard cost a whole
// core there against 0.7 at ten flushes a second (docs/PERFORMANCE.md). A flush takes at
// most ROWS_PER_FLUSH rows, oldest first, and leaves the rest for the next one, so one
// flush never keeps the page (the cards' totals among it) waiting long. A queue that
// outgrows twice the table keeps only its newest rows (older ones would be trimmed before
// being seen).

import { el } from "./dom.js";
import {
  formatPrice,
  formatTime,
  formatUsd,
  formatUsdExact,
  shortProduct,
  tierOf,
} from "./format.js";
import { t } from "./i18n.js";

export const MAX_ROWS = 300;
/** Rows added per flush at most: 1,500 rows/s while busy, more than a screen can show. */
export const ROWS_PER_FLUSH = 150;
/** While busy, flushes are at least this far apart (ms): ten a second still reads as a
 * flowing tape. */
export const BUSY_FLUSH_MS = 100;
/**
 * New rows flash only while a flush brings at most this many (a calm tape: up to a few
 * hundred events/s at a flush per frame): faster, every visible row would be flashing at
 * once, which says nothing and costs a repaint of the whole tape. Whales always flash.
 * More rows than this make the tape busy (BUSY_FLUSH_MS).
 */
export const FLASH_ROWS = 5;

export class Tape {
  /**
   * @param {HTMLElement} list the <ol> that holds the rows
   * @param {{onCoin?: (symbol: string) => void, onRows?: (n: number) => void,
   *          maxRows?: number, compact?: boolean}} options
   */
  constructor(list, options = {}) {
    this.list = list;
    this.maxRows = options.maxRows ?? MAX_ROWS;
    this.onCoin = options.onCoin;
    this.onRows = options.onRows;
    /** A print at or above this is highlighted (see alerts.js). */
    this.highlightUsd = options.highlightUsd ?? Infinity;
    /** Stream ids of the rows shown or queued. */
    this.ids = new Set();
    this.queue = [];
    this.frame = 0; // the requested animation frame, or 0
    this.timer = 0; // the busy tape's wait before requesting it, or 0
    this.busy = false; // did the last flush bring more than FLASH_ROWS rows?
    this.flushedAt = -Infinity;
    this.flush = this.flush.bind(this);
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button.coin");
      if (button && this.onCoin) this.onCoin(button.dataset.symbol);
    });
    this.renderEmpty();
  }

  /** Remember an event about to be shown; false if its stream entry already is. */
  remember(event) {
    if (!event?.stream_id || this.ids.has(event.stream_id)) return false;
    this.ids.add(event.stream_id);
    return true;
  }

  forget(streamId) {
    this.ids.delete(streamId);
  }

  /** Queue one live event (rendered on the next frame). Duplicates are ignored. */
  push(event) {
    if (!this.remember(event)) return;
    this.queue.push(event);
    if (this.queue.length > this.maxRows * 2) {
      for (const dropped of this.queue.splice(
        0,
        this.queue.length - this.maxRows,
      )) {
        this.forget(dropped.stream_id);
      }
    }
    this.schedule();
  }

  /** Request the next flush: the next frame, or on a busy tape BUSY_FLUSH_MS after the last. */
  schedule() {
    if (this.frame || this.timer) return;
    const wait = this.busy
      ? this.flushedAt + BUSY_FLUSH_MS - performance.now()
      : 0;
    if (wait <= 0) {
      this.frame = requestAnimationFrame(this.flush);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.frame = requestAnimationFrame(this.flush);
    }, wait);
  }

  /** Replace everything with `items` (newest first, as /api/liquidations returns them). */
  fill(items) {
    this.clear();
    const fresh = [];
    for (const item of items) {
      if (fresh.length >= this.maxRows) break;
      if (this.remember(item)) fresh.push(item);
    }
    if (fresh.length) {
      this.list.replaceChildren(...fresh.map((e) => this.row(e, false)));
    }
    this.report();
  }

  clear() {
    if (this.frame) cancelAnimationFrame(this.frame);
    clearTimeout(this.timer);
    this.frame = 0;
    this.timer = 0;
    this.busy = false;
    this.queue = [];
    this.ids.clear();
    this.renderEmpty();
  }

  flush() {
    this.frame = 0;
    if (!this.queue.length) return;
    this.flushedAt = performance.now();
    const batch = this.queue.splice(0, ROWS_PER_FLUSH);
    const keep = batch.slice(-this.maxRows);
    for (const dropped of batch.slice(0, batch.length - keep.length))
      this.forget(dropped.stream_id);
    const calm = keep.length <= FLASH_ROWS;
    this.busy = !calm;
    const fragment = document.createDocumentFragment();
    for (let i = keep.length - 1; i >= 0; i -= 1) {
      fragment.append(this.row(keep[i], calm || this.isWhale(keep[i].usd)));
    }
    const placeholder = this.list.querySelector(".tape-empty");
    if (placeholder) placeholder.remove();
    this.list.prepend(fragment);
    let excess = this.list.childElementCount - this.maxRows;
    while (excess > 0) {
      const last = this.list.lastElementChild;
      this.forget(last.dataset.id);
      last.remove();
      excess -= 1;
    }
    this.report();
    if (this.queue.length) this.schedule();
  }

  /** Is a print of `usd` highlighted (at or above the threshold)? */
  isWhale(usd) {
    return Number(usd) >= this.highlightUsd;
  }

  /** Change the highlight threshold, re-marking the rows already shown. */
  setHighlight(usd) {
    this.highlightUsd = usd;
    for (const row of this.list.querySelectorAll("li.row")) {
      row.classList.toggle("whale", this.isWhale(row.dataset.usd));
    }
  }

  report() {
    if (this.onRows) this.onRows(this.list.querySelectorAll("li.row").length);
  }

  renderEmpty(text = t("tape_empty"), isError = false) {
    this.list.replaceChildren(
      el("li", { class: `tape-empty${isError ? " error" : ""}`, text }),
    );
  }

  /** Replace the rows with a message (e.g. the server refused a filter). */
  showError(text) {
    this.clear();
    this.renderEmpty(text, true);
  }

  /** One row. Every exchange-provided value goes in as text. */
  row(event, fresh) {
    const tier = tierOf(event.usd);
    const classes = [
      "row",
      event.side === "long" ? "long" : "short",
      `tier-${tier}`,
    ];
    if (this.isWhale(event.usd)) classes.push("whale");
    if (fresh) classes.push("fresh");
    return el(
      "li",
      {
        class: classes.join(" "),
        dataset: {
          id: event.stream_id,
          side: event.side,
          usd: event.usd,
        },
      },
      el("time", {
        class: "c-time",
        datetime: new Date(Number(event.ts)).toISOString(),
        text: formatTime(event.ts),
      }),
      el(
        "span",
        { class: "c-coin" },
        el("button", {
          class: "coin",
          type: "button",
          dataset: { symbol: event.symbol },
          text: event.symbol,
        }),
        el("span", {
          class: "side-tag",
          text: t(event.side === "long" ? "long" : "short"),
        }),
      ),
      el(
        "span",
        {
          class: "c-venue",
          title: `${event.exchange} ${event.product} ${event.instrument}`,
        },
        el("span", {
          class: `venue venue-${cssToken(event.exchange)}`,
          text: event.exchange,
        }),
        el("span", {
          class: "product",
          text: shortProduct(event.exchange, event.product),
        }),
      ),
      el("span", {
        class: "c-price",
        title: formatPrice(event.price),
        text: formatPrice(event.price),
      }),
      el("span", {
        class: "c-usd",
        title: formatUsdExact(event.usd),
        text: formatUsd(event.usd),
      }),
    );
  }
}

/** A safe CSS class token from exchange text (anything odd becomes "other"). */
export function cssToken(text) {
  const s = String(text ?? "");
  return /^[a-z0-9-]{1,32}$/.test(s) ? s : "other";
}
