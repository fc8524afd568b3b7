// Window cards (3m … 1d): long/short totals and counts, the long/short balance, the largest
// single liquidation, and the flags the aggregator sets (incomplete window, capped seconds).
// Clicking a card selects the window that drives the rankings and the exchange split below
// the cards. Raw numbers are kept in data-value attributes, so tests and tools can compare
// the page with /api/summary exactly.

import { windowNames } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import {
  formatInt,
  formatUsd,
  formatUsdCompact,
  formatUsdExact,
  shortProduct,
} from "./format.js";
import { t } from "./i18n.js";

export class WindowCards {
  /**
   * @param {HTMLElement} root container of the cards
   * @param {HTMLElement} detail container of the selected window's exchange split
   * @param {{selected: string, onSelect: (w: string) => void, onCoin: (s: string) => void}} options
   */
  constructor(root, detail, options) {
    this.root = root;
    this.detail = detail;
    this.selected = options.selected;
    this.onSelect = options.onSelect;
    this.onCoin = options.onCoin;
    this.summary = null;
    /** Per window on screen: its parts that a summary updates in place (see card()). */
    this.parts = null;
    root.addEventListener("click", (event) => {
      const coin = event.target.closest("button.coin");
      if (coin) {
        this.onCoin(coin.dataset.symbol);
        return;
      }
      const card = event.target.closest(".card");
      if (card) this.select(card.dataset.window);
    });
    root.addEventListener("keydown", (event) => {
      const card = event.target.closest(".card");
      if (
        card &&
        (event.key === "Enter" || event.key === " ") &&
        event.target === card
      ) {
        event.preventDefault();
        this.select(card.dataset.window);
      }
    });
  }

  select(window) {
    if (!window || window === this.selected) return;
    this.selected = window;
    this.render(this.summary);
    this.onSelect(window);
  }

  /** Draw `summary`; `detail: false` leaves the exchange split to a later renderDetail. */
  render(summary, { detail = true } = {}) {
    if (!summary?.windows) return;
    this.summary = summary;
    const names = windowNames(summary.windows);
    if (!names.includes(this.selected))
      this.selected = names.includes("1h") ? "1h" : names[0];
    if (!this.updateInPlace(names, summary.windows)) {
      const focused = this.root.contains(document.activeElement)
        ? document.activeElement.closest(".card")?.dataset.window
        : null;
      this.parts = new Map();
      replaceChildren(
        this.root,
        names.map((name) => this.card(name, summary.windows[name])),
      );
      if (focused)
        this.root
          .querySelector(`.card[data-window="${CSS.escape(focused)}"]`)
          ?.focus();
    }
    if (detail)
      this.renderDetail(this.selected, summary.windows[this.selected]);
  }

  /** Rebuild the cards (their labels are in the language just chosen). */
  relabel() {
    this.parts = null;
    this.render(this.summary);
  }

  /**
   * The same windows as on screen: change only the text, values and flags that moved.
   * A summary comes up to 50 times a second while events flow, and rebuilding the cards
   * each time made the browser style, lay out and paint them all again; this way a
   * push touches a few text nodes (and keeps focus where it is). False when the
   * windows on screen are not these (the first render, or the aggregator's set changed).
   */
  updateInPlace(names, windows) {
    const cards = this.root.children;
    if (!this.parts || cards.length !== names.length) return false;
    for (let i = 0; i < names.length; i += 1)
      if (cards[i].dataset.window !== names[i]) return false;
    names.forEach((name, i) => {
      const w = windows[name];
      const card = cards[i];
      const parts = this.parts.get(name);
      const selected = name === this.selected;
      card.classList.toggle("selected", selected);
      setAttr(card, "aria-pressed", String(selected));
      const long = Number(w.long_usd) || 0;
      const short = Number(w.short_usd) || 0;
      setAmount(parts.long, long, w.long_count);
      setAmount(parts.short, short, w.short_count);
      const bar = balanceBar(long, short);
      setAttr(parts.bar, "title", bar.title);
      parts.bar.classList.toggle("empty", bar.empty);
      if (parts.bar.firstChild.style.width !== bar.width)
        parts.bar.firstChild.style.width = bar.width;
      const { flagsKey, largestKey } = partKeys(w);
      if (parts.flagsKey !== flagsKey) {
        const flags = flagsOf(w);
        parts.flags.replaceWith(flags);
        Object.assign(parts, { flags, flagsKey });
      }
      if (parts.largestKey !== largestKey) {
        const largest = largestLine(w.largest, this.onCoin);
        parts.largest.replaceWith(largest);
        Object.assign(parts, { largest, largestKey });
      }
    });
    return true;
  }

  card(name, w) {
    const long = Number(w.long_usd) || 0;
    const short = Number(w.short_usd) || 0;
    const balance = balanceBar(long, short);
    const bar = el(
      "div",
      {
        class: `balance${balance.empty ? " empty" : ""}`,
        title: balance.title,
      },
      el("span", { class: "balance-long" }),
    );
    if (balance.width) bar.firstChild.style.width = balance.width;
    const flags = flagsOf(w);
    const longLine = amountLine("long", long, w.long_count);
    const shortLine = amountLine("short", short, w.short_count);
    const largest = largestLine(w.largest, this.onCoin);
    this.parts.set(name, {
      long: longLine,
      short: shortLine,
      bar,
      flags,
      largest,
      ...partKeys(w),
    });
    const selected = name === this.selected;
    return el(
      "article",
      {
        class: `card${selected ? " selected" : ""}`,
        dataset: { window: name },
        tabindex: "0",
        role: "button",
        "aria-pressed": String(selected),
      },
      el("header", { class: "card-head" }, el("h3", { text: name }), flags),
      longLine,
      shortLine,
      bar,
      largest,
    );
  }

  renderDetail(name, w) {
    if (!w) {
      replaceChildren(this.detail);
      return;
    }
    const rows = Object.entries(w.by_exchange ?? {}).map(([exchange, x]) =>
      splitRow(exchange, x, "venue"),
    );
    rows.push(splitRow(t("total"), w, "total"));
    replaceChildren(
      this.detail,
      el("h2", { class: "panel-title", text: t("split", { w: name }) }),
      el(
        "table",
        { class: "split", dataset: { window: name } },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { text: t("exchange") }),
            el("th", { class: "long", text: t("long") }),
            el("th", { class: "short", text: t("short") }),
          ),
        ),
        el("tbody", {}, rows),
      ),
    );
  }
}

/** The long/short balance bar's title, width and emptiness for these totals. */
function balanceBar(long, short) {
  const total = long + short;
  return {
    title: `${t("long")} ${share(long, total)} / ${t("short")} ${share(short, total)}`,
    width: total > 0 ? `${(100 * long) / total}%` : "",
    empty: !(total > 0),
  };
}

/** What a card's flags and largest line are drawn from: redrawn when these change. */
function partKeys(w) {
  return {
    flagsKey: `${w.incomplete ? 1 : 0}:${Number(w.capped_seconds) || 0}`,
    largestKey: JSON.stringify(w.largest ?? null),
  };
}

function flagsOf(w) {
  const flags = el("div", { class: "flags" });
  if (w.incomplete)
    flags.append(
      el("span", {
        class: "flag flag-incomplete",
        title: t("incomplete_title"),
        text: t("incomplete"),
      }),
    );
  if (Number(w.capped_seconds) > 0) {
    flags.append(
      el("span", {
        class: "flag flag-capped",
        title: t("capped_title"),
        dataset: { value: w.capped_seconds },
        text: t("capped", { n: formatInt(w.capped_seconds) }),
      }),
    );
  }
  return flags;
}

/** An attribute set only when it differs (an unchanged write still invalidates). */
function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** Text set only when it differs. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** An amount line (from amountLine) showing these totals. */
function setAmount(line, usd, count) {
  const [, usdNode, countNode] = line.children;
  setAttr(usdNode, "title", formatUsdExact(usd));
  setAttr(usdNode, "data-value", String(usd));
  setText(usdNode, formatUsdCompact(usd));
  setAttr(countNode, "data-value", String(count ?? 0));
  setText(countNode, formatInt(count ?? 0));
}

function amountLine(side, usd, count) {
  return el(
    "div",
    { class: `amount ${side}` },
    el("span", {
      class: "label",
      text: t(side === "long" ? "card_long" : "card_short"),
    }),
    el("span", {
      class: `usd ${side}-usd`,
      title: formatUsdExact(usd),
      dataset: { value: usd },
      text: formatUsdCompact(usd),
    }),
    el("span", {
      class: `count ${side}-count`,
      dataset: { value: count ?? 0 },
      text: formatInt(count ?? 0),
    }),
  );
}

function largestLine(largest, onCoin) {
  if (!largest)
    return el(
      "div",
      { class: "largest empty" },
      el("span", { class: "label", text: t("largest") }),
      t("none"),
    );
  return el(
    "div",
    {
      class: `largest ${largest.side === "long" ? "long" : "short"}`,
      dataset: { value: largest.usd },
      title: `${largest.exchange} ${largest.product} ${largest.instrument}`,
    },
    el("span", { class: "label", text: t("largest") }),
    el("button", {
      class: "coin",
      type: "button",
      dataset: { symbol: largest.symbol },
      text: largest.symbol,
    }),
    el("span", {
      class: "venue-short",
      text: `${largest.exchange} ${shortProduct(largest.exchange, largest.product)}`,
    }),
    el("span", {
      class: "usd",
      title: formatUsdExact(largest.usd),
      text: formatUsd(largest.usd),
    }),
  );
}

function splitRow(label, x, kind) {
  const cell = (side) =>
    el(
      "td",
      {
        class: side,
        dataset: { value: x?.[`${side}_usd`] ?? 0 },
        title: formatUsdExact(x?.[`${side}_usd`] ?? 0),
      },
      formatUsdCompact(x?.[`${side}_usd`] ?? 0),
      el("small", { text: ` ×${formatInt(x?.[`${side}_count`] ?? 0)}` }),
    );
  return el(
    "tr",
    { class: kind, dataset: { exchange: kind === "venue" ? label : "total" } },
    el("th", { scope: "row", text: label }),
    cell("long"),
    cell("short"),
  );
}

function share(part, total) {
  return total > 0 ? `${((100 * part) / total).toFixed(1)}%` : "–";
}
