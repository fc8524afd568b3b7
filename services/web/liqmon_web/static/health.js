// Data health from /api/health: overall status, Redis, each exchange's collector
// (connection state, age of its last event, gaps) and the aggregator's lag. It iterates over
// whatever collectors the API reports, so a new venue shows up without code changes. Field
// names beyond the documented ones are read tolerantly, and any other scalar fields are
// listed in the row's tooltip.
//
// Also the sampling note: Binance and OKX publish at most one liquidation per symbol per
// second, so every total is a lower bound. It can be dismissed, and the dismissal is kept.

import { getHealth } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import { formatAge, formatInt } from "./format.js";
import { safeGet, safeSet, t } from "./i18n.js";
import { cssToken } from "./tape.js";

const POLL_MS = 5000;
const NOTE_KEY = "liqmon.sampleNoteDismissed";

function pick(obj, ...names) {
  for (const name of names) if (obj && obj[name] !== undefined && obj[name] !== null) return obj[name];
  return undefined;
}

/** "connected"/"up"/true → "up"; "disconnected"/false → "down"; anything else as given. */
function stateOf(c) {
  const raw = pick(c, "state", "status", "connection", "connected", "up");
  if (raw === true) return "up";
  if (raw === false) return "down";
  return raw === undefined ? "unknown" : String(raw);
}

function ageOf(c, now) {
  const age = pick(c, "last_event_age_ms", "last_event_age");
  if (age !== undefined) return Number(age);
  const age_s = pick(c, "last_event_age_s", "last_event_age_seconds");
  if (age_s !== undefined) return Number(age_s) * 1000;
  const at = pick(c, "last_event_ms", "last_event_ts", "last_event_at", "last_event");
  return at !== undefined && Number(at) > 0 ? now - Number(at) : undefined;
}

function gapsOf(c) {
  const gaps = pick(c, "gaps", "gap_count", "gaps_24h");
  if (Array.isArray(gaps)) return gaps.length;
  return gaps === undefined ? undefined : Number(gaps);
}

export class Health {
  /** @param {HTMLElement} root @param {(names: string[]) => void} onExchanges */
  constructor(root, onExchanges) {
    this.root = root;
    this.onExchanges = onExchanges;
    this.last = null;
    this.error = null;
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  async poll() {
    try {
      this.last = await getHealth();
      this.error = null;
      this.onExchanges(Object.keys(this.last.collectors ?? {}));
    } catch (error) {
      this.error = error;
    }
    this.render();
  }

  render() {
    const h = this.last;
    if (this.error && !h) {
      replaceChildren(this.root, el("p", { class: "health-error", text: t("health_unreachable") }));
      return;
    }
    if (!h) return;
    const now = Date.now();
    const status = String(h.status ?? "unknown");
    const collectors = Object.entries(h.collectors ?? {}).map(([name, c]) => {
      const state = stateOf(c);
      const age = ageOf(c, now);
      const gaps = gapsOf(c);
      const gapOpen = Number(pick(c, "gap_open_since")) || 0;
      const extra = Object.entries(c ?? {})
        .filter(([, v]) => v === null || typeof v !== "object")
        .map(([k, v]) => `${k}: ${v}`)
        .join("\n");
      return el(
        "li",
        { class: `collector state-${cssToken(state.toLowerCase())}`, dataset: { exchange: name }, title: extra },
        el("span", { class: "dot" }),
        el("span", { class: `venue venue-${cssToken(name)}`, text: name }),
        el("span", { class: "h-state", text: state }),
        el("span", { class: "h-age", text: age === undefined ? "" : `${t("health_last")} ${t("health_ago", { age: formatAge(age) })}` }),
        gaps === undefined ? null : el("span", { class: `h-gaps${gaps > 0 ? " warn" : ""}`, text: `${t("health_gaps")} ${formatInt(gaps)}` }),
        gapOpen > 0 ? el("span", { class: "h-gaps warn", text: t("health_gap_open", { age: formatAge(now - gapOpen) }) }) : null,
      );
    });
    const agg = h.aggregator ?? {};
    const aggText = [
      pick(agg, "lag") !== undefined ? `${t("health_lag")} ${formatInt(pick(agg, "lag"))}` : null,
      pick(agg, "pending") !== undefined ? `${t("health_pending")} ${formatInt(pick(agg, "pending"))}` : null,
    ].filter(Boolean).join(" · ");
    const redisOk = h.redis ? pick(h.redis, "ok", "status", "connected") : undefined;
    replaceChildren(
      this.root,
      el("div", { class: "health-head" },
        el("span", { class: `status-badge status-${cssToken(status)}`, dataset: { status }, text: status }),
        el("span", { class: "h-redis", text: `${t("health_redis")}: ${redisOk === undefined ? "?" : String(redisOk)}` }),
        el("span", { class: "h-agg", text: aggText ? `${t("health_aggregator")}: ${aggText}` : "" }),
        this.error ? el("span", { class: "health-error", text: t("health_unreachable") }) : null),
      el("ul", { class: "collectors" }, collectors),
    );
  }
}

/** Wire the dismissable sampling note (hidden for good once dismissed). */
export function setupSampleNote(note, closeButton) {
  if (safeGet(NOTE_KEY) === "1") {
    note.hidden = true;
    return;
  }
  note.hidden = false;
  closeButton.addEventListener("click", () => {
    note.hidden = true;
    safeSet(NOTE_KEY, "1");
  });
}
