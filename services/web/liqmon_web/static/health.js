// Data health from /api/health: overall status, Redis, each exchange's collector
// (connection state, age of its last event, gaps) and the aggregator's lag. It iterates over
// whatever collectors the API reports, so a new venue shows up without code changes. Field
// names beyond the documented ones are read tolerantly, and any other scalar fields are
// listed in the row's tooltip.
//
// Each venue is badged "complete" or "sampled" from the API's `sampled` flag. Also the
// sampling note: Binance and OKX publish at most one liquidation per symbol per second, so
// their totals are lower bounds. It can be dismissed, and the dismissal is kept.

import { getHealth, pick } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import { formatAge, formatInt } from "./format.js";
import { safeGet, safeSet, t } from "./i18n.js";
import { cssToken } from "./tape.js";

const POLL_MS = 5000;
const NOTE_KEY = "liqmon.sampleNoteDismissed";

/** The web API's `up` (status hash present) + `connected`; other spellings as given. */
export function stateOf(c) {
  if (c && typeof c.up === "boolean") {
    if (!c.up) return "stopped";
    return c.connected === false ? "disconnected" : "connected";
  }
  const raw = pick(c, "state", "status", "connection", "connected");
  if (raw === true) return "connected";
  if (raw === false) return "disconnected";
  return raw === undefined ? "unknown" : String(raw);
}

/** A state word in the current language (unknown words are shown as sent). */
function stateLabel(state) {
  const key = `state_${state}`;
  const text = t(key);
  return text === key ? state : text;
}

function ageOf(c, now) {
  const age = pick(c, "last_event_age_ms", "last_event_age");
  if (age !== undefined) return Number(age);
  const age_s = pick(c, "last_event_age_s", "last_event_age_seconds");
  if (age_s !== undefined) return Number(age_s) * 1000;
  const at = pick(
    c,
    "last_event_ms",
    "last_event_ts",
    "last_event_at",
    "last_event",
  );
  return at !== undefined && Number(at) > 0 ? now - Number(at) : undefined;
}

function gapsOf(c) {
  const gaps = pick(c, "gaps", "gap_count", "gaps_24h");
  if (Array.isArray(gaps)) return gaps.length;
  return gaps === undefined ? undefined : Number(gaps);
}

export class Health {
  /** @param {HTMLElement} root @param {(names: string[], health: object) => void} onExchanges */
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
      this.onExchanges(Object.keys(this.last.collectors ?? {}), this.last);
    } catch (error) {
      this.error = error;
    }
    this.render();
  }

  render() {
    const h = this.last;
    if (this.error && !h) {
      replaceChildren(
        this.root,
        el("p", { class: "health-error", text: t("health_unreachable") }),
      );
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
        {
          class: `collector state-${cssToken(state.toLowerCase())}`,
          dataset: { exchange: name },
          title: extra,
        },
        el("span", { class: "dot" }),
        el("span", { class: `venue venue-${cssToken(name)}`, text: name }),
        typeof c?.sampled === "boolean"
          ? el("span", {
              class: `h-feed ${c.sampled ? "feed-sampled" : "feed-complete"}`,
              title: t(
                c.sampled ? "feed_sampled_title" : "feed_complete_title",
              ),
              text: t(c.sampled ? "feed_sampled" : "feed_complete"),
            })
          : null,
        el("span", { class: "h-state", text: stateLabel(state) }),
        el("span", {
          class: "h-age",
          text:
            age === undefined
              ? ""
              : `${t("health_last")} ${t("health_ago", { age: formatAge(age) })}`,
        }),
        gaps === undefined
          ? null
          : el("span", {
              class: `h-gaps${gaps > 0 ? " warn" : ""}`,
              text: `${t("health_gaps")} ${formatInt(gaps)}`,
            }),
        gapOpen > 0
          ? el("span", {
              class: "h-gaps warn",
              text: t("health_gap_open", { age: formatAge(now - gapOpen) }),
            })
          : null,
      );
    });
    const agg = h.aggregator ?? {};
    const aggText = [
      pick(agg, "lag") !== undefined
        ? `${t("health_lag")} ${formatInt(pick(agg, "lag"))}`
        : null,
      pick(agg, "pending") !== undefined
        ? `${t("health_pending")} ${formatInt(pick(agg, "pending"))}`
        : null,
    ]
      .filter(Boolean)
      .join(" · ");
    const redisOk = h.redis ? pick(h.redis, "ok", "connected") : undefined;
    const latency = Number(pick(h.redis, "latency_ms"));
    const redisText =
      redisOk === undefined ? "?" : redisOk ? t("redis_ok") : t("redis_down");
    replaceChildren(
      this.root,
      el(
        "div",
        { class: "health-head" },
        el("span", {
          class: `status-badge status-${cssToken(status)}`,
          dataset: { status },
          text: status,
        }),
        el("span", {
          class: `h-redis${redisOk === false ? " warn" : ""}`,
          text: `${t("health_redis")} ${redisText}${Number.isFinite(latency) ? ` · ${latency} ms` : ""}`,
        }),
        el("span", {
          class: "h-agg",
          text: aggText ? `${t("health_aggregator")}: ${aggText}` : "",
        }),
        this.error
          ? el("span", { class: "health-error", text: t("health_unreachable") })
          : null,
      ),
      el("ul", { class: "collectors" }, collectors),
      Array.isArray(h.reasons) && h.reasons.length
        ? el(
            "ul",
            { class: "reasons" },
            h.reasons.slice(0, 6).map((r) => el("li", { text: String(r) })),
          )
        : null,
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
