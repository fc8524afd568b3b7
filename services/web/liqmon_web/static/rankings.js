// Top long / top short coins of the selected window, with share bars (a coin's USD as a
// share of that side's total in the window). Ten rows come with every streamed summary;
// "show more" switches to polling /api/summary?top=EXPANDED_TOP every few seconds while
// expanded, since the streamed summary carries only the default ten.

import { getSummary } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import {
  formatInt,
  formatShare,
  formatUsdCompact,
  formatUsdExact,
} from "./format.js";
import { t } from "./i18n.js";

export const EXPANDED_TOP = 50;
const POLL_MS = 3000;

export class Rankings {
  /**
   * @param {{long: HTMLElement, short: HTMLElement, longTitle: HTMLElement,
   *          shortTitle: HTMLElement, more: HTMLButtonElement}} nodes
   * @param {{window: string, onCoin: (s: string) => void}} options
   */
  constructor(nodes, options) {
    this.nodes = nodes;
    this.window = options.window;
    this.onCoin = options.onCoin;
    this.expanded = false;
    this.streamed = null;
    this.polled = null;
    this.timer = null;
    for (const list of [nodes.long, nodes.short]) {
      list.addEventListener("click", (event) => {
        const button = event.target.closest("button.coin");
        if (button) this.onCoin(button.dataset.symbol);
      });
    }
    nodes.more.addEventListener("click", () =>
      this.setExpanded(!this.expanded),
    );
  }

  setWindow(window) {
    this.window = window;
    this.render();
  }

  /** A summary from the stream (top 10). Ignored for the lists while expanded. */
  update(summary) {
    this.streamed = summary;
    if (!this.expanded) this.render();
  }

  setExpanded(expanded) {
    this.expanded = expanded;
    clearInterval(this.timer);
    this.timer = null;
    this.polled = null;
    if (expanded) {
      this.poll();
      this.timer = setInterval(() => this.poll(), POLL_MS);
    }
    this.render();
  }

  async poll() {
    try {
      this.polled = await getSummary(EXPANDED_TOP);
      if (this.expanded) this.render();
    } catch {
      /* keep showing the last lists; the connection pill tells the story */
    }
  }

  render() {
    const summary = this.expanded && this.polled ? this.polled : this.streamed;
    const w = summary?.windows?.[this.window];
    this.nodes.longTitle.textContent = t("top_long", { w: this.window });
    this.nodes.shortTitle.textContent = t("top_short", { w: this.window });
    this.nodes.more.textContent = t(this.expanded ? "show_less" : "show_more");
    this.nodes.more.setAttribute("aria-expanded", String(this.expanded));
    if (!w) return;
    fillList(
      this.nodes.long,
      w.top_long ?? [],
      Number(w.long_usd) || 0,
      "long",
    );
    fillList(
      this.nodes.short,
      w.top_short ?? [],
      Number(w.short_usd) || 0,
      "short",
    );
  }
}

function fillList(list, items, sideTotal, side) {
  if (!items.length) {
    replaceChildren(
      list,
      el("li", { class: "rank-empty", text: t("rank_empty") }),
    );
    return;
  }
  replaceChildren(
    list,
    items.map((item, index) => {
      const fraction = sideTotal > 0 ? Number(item.usd) / sideTotal : 0;
      const bar = el("span", { class: `share-bar ${side}` });
      bar.style.width = `${Math.min(100, Math.max(0, fraction * 100))}%`;
      return el(
        "li",
        { class: "rank", dataset: { symbol: item.symbol, value: item.usd } },
        bar,
        el("span", { class: "rank-n", text: String(index + 1) }),
        el("button", {
          class: "coin",
          type: "button",
          dataset: { symbol: item.symbol },
          text: item.symbol,
        }),
        el("span", {
          class: "rank-usd",
          title: formatUsdExact(item.usd),
          text: formatUsdCompact(item.usd),
        }),
        el("span", { class: "rank-share", text: formatShare(fraction) }),
        el("span", { class: "rank-count", text: `×${formatInt(item.count)}` }),
      );
    }),
  );
}
