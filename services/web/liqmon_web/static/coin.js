// One coin's own view (a modal dialog): per-window long/short totals, counts and average
// liquidation price per side from /api/symbols/{symbol}, its last hour per minute from
// /api/series?symbol=, and its recent tape from /api/liquidations?symbol= (following `next`
// cursors: a rare coin's last prints can lie beyond one bounded server scan). Refreshed every
// few seconds while open; the open coin is kept in the URL (?coin=) so a link opens it.
// The coin name is exchange text: shown as text only.

import {
  getRecentLiquidations,
  getSymbol,
  pick,
  windowNames,
} from "./api.js";
import { MinuteChart } from "./chart.js";
import { el, replaceChildren } from "./dom.js";
import {
  formatInt,
  formatPriceNumber,
  formatUsdCompact,
  formatUsdExact,
} from "./format.js";
import { setUrlParam } from "./filters.js";
import { t } from "./i18n.js";
import { loadAlertUsd } from "./alerts.js";
import { Tape } from "./tape.js";

const REFRESH_MS = 5000;
const RECENT = 50;
/** Requests for the recent list: a rare coin may need several bounded scans (api.js). */
const RECENT_PAGES = 10;

export class CoinView {
  /** @param {HTMLDialogElement} dialog */
  constructor(dialog) {
    this.dialog = dialog;
    this.symbol = null;
    this.timer = null;
    /** Live events for the coin that arrive while its recent list is being fetched. */
    this.liveWhileLoading = null;
    this.title = dialog.querySelector(".coin-title");
    this.table = dialog.querySelector(".coin-windows");
    this.status = dialog.querySelector(".coin-status");
    this.chartBox = dialog.querySelector(".coin-chart");
    this.chart = null;
    this.tape = new Tape(dialog.querySelector(".coin-tape"), {
      highlightUsd: loadAlertUsd(),
      maxRows: RECENT,
    });
    dialog
      .querySelector(".coin-close")
      .addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => this.onClosed());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // click on the backdrop
    });
  }

  open(symbol) {
    if (!symbol) return;
    this.symbol = String(symbol);
    this.title.textContent = this.symbol;
    this.dialog.dataset.symbol = this.symbol;
    replaceChildren(this.table);
    this.tape.clear();
    this.liveWhileLoading = []; // re-added after the recent list replaces the tape
    this.status.textContent = t("loading");
    if (!this.dialog.open) this.dialog.showModal();
    this.chart?.destroy();
    this.chart = new MinuteChart(this.chartBox, this.status, {
      range: "1h",
      query: { symbol: this.symbol },
    });
    this.chart.load();
    setUrlParam("coin", this.symbol);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.load(), REFRESH_MS);
    this.load(true);
  }

  onClosed() {
    this.chart?.destroy();
    this.chart = null;
    clearInterval(this.timer);
    this.timer = null;
    this.symbol = null;
    setUrlParam("coin", null);
  }

  /** A live event from the main stream: add it if it is this coin's. */
  push(event) {
    if (!this.symbol || event.symbol !== this.symbol) return;
    this.liveWhileLoading?.push(event);
    this.tape.push(event);
  }

  async load(first = false) {
    const symbol = this.symbol;
    if (!symbol) return;
    try {
      const [info, recent] = await Promise.all([
        getSymbol(symbol),
        first
          ? getRecentLiquidations({ symbol }, RECENT, RECENT_PAGES)
          : Promise.resolve(null),
      ]);
      if (symbol !== this.symbol) return;
      this.renderWindows(info);
      if (recent) {
        this.tape.fill(recent);
        for (const event of this.liveWhileLoading ?? []) this.tape.push(event);
      }
      if (first) this.liveWhileLoading = null;
      this.status.textContent = "";
    } catch (error) {
      if (symbol !== this.symbol) return;
      if (first) this.liveWhileLoading = null;
      this.status.textContent = t("error", { msg: error.message });
    }
  }

  renderWindows(info) {
    const windows = info?.windows ?? {};
    const head = el(
      "tr",
      {},
      el("th", { text: t("window") }),
      el("th", { class: "long", text: t("long") }),
      el("th", { class: "short", text: t("short") }),
      el("th", { class: "long", text: t("coin_avg_long") }),
      el("th", { class: "short", text: t("coin_avg_short") }),
    );
    const rows = windowNames(windows).map((name) => {
      const w = windows[name];
      const usdCell = (side) =>
        el(
          "td",
          {
            class: side,
            dataset: { value: pick(w, `${side}_usd`) ?? 0 },
            title: formatUsdExact(pick(w, `${side}_usd`) ?? 0),
          },
          formatUsdCompact(pick(w, `${side}_usd`) ?? 0),
          el("small", {
            text: ` ×${formatInt(pick(w, `${side}_count`) ?? 0)}`,
          }),
        );
      const avg = (side) =>
        el("td", {
          class: `avg ${side}`,
          text: formatPriceNumber(
            pick(w, `${side}_avg_price`, `avg_${side}_price`, `${side}_avg_px`),
          ),
        });
      return el(
        "tr",
        { dataset: { window: name } },
        el("th", { scope: "row", text: name }),
        usdCell("long"),
        usdCell("short"),
        avg("long"),
        avg("short"),
      );
    });
    replaceChildren(this.table, el("thead", {}, head), el("tbody", {}, rows));
  }
}
