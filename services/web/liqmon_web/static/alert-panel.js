// The alerts panel: what the alerter fired (GET /api/alerts, then SSE `event: alert`),
// newest first, and an optional browser notification per alert.
//
// (static/alerts.js is something else: the tape's highlight threshold, chosen in the top
// bar.) The panel stays hidden until the server reports an alerter or an alert arrives.
// Every string is rendered as text: an alert carries exchange-provided coin names.

import { getJson } from "./api.js";
import { $, el, replaceChildren } from "./dom.js";
import { formatTime } from "./format.js";
import { onLangChange, safeGet, safeSet, t } from "./i18n.js";

const SHOWN = 30;
const NOTIFY_KEY = "liqmon.alertNotify";

export class AlertPanel {
  /** @param {HTMLElement} root the panel section (hidden until alerts exist) */
  constructor(root) {
    this.root = root;
    this.list = $(".alert-list", root);
    this.button = $(".alert-notify", root);
    this.items = []; // newest first
    this.notify = safeGet(NOTIFY_KEY) === "1";
    this.button.addEventListener("click", () => this.toggleNotify());
    this.showNotify();
    onLangChange(() => {
      this.showNotify();
      this.render();
    });
  }

  /** Refill from the API (at start and after the live stream reconnects). */
  async load() {
    try {
      const [page, health] = await Promise.all([
        getJson("/api/alerts", { limit: SHOWN }),
        getJson("/api/health"),
      ]);
      const seen = new Set(page.items.map((a) => a.id));
      // keep live arrivals the page may not have yet
      this.items = [...this.items.filter((a) => !seen.has(a.id)), ...page.items]
        .sort((a, b) => (b.fired_at ?? 0) - (a.fired_at ?? 0))
        .slice(0, SHOWN);
      if (health.alerter?.configured || this.items.length)
        this.root.hidden = false;
      this.render();
    } catch {
      /* the next reconnect retries; the live feed keeps working meanwhile */
    }
  }

  /** One alert from the live stream. */
  push(alert) {
    if (this.items.some((a) => a.id === alert.id)) return;
    this.items = [alert, ...this.items].slice(0, SHOWN);
    this.root.hidden = false;
    this.render();
    this.raise(alert);
  }

  render() {
    if (!this.items.length) {
      replaceChildren(
        this.list,
        el("li", { class: "muted" }, t("alerts_empty")),
      );
      return;
    }
    replaceChildren(this.list, ...this.items.map((a) => row(a)));
  }

  async toggleNotify() {
    if (!this.notify && "Notification" in window) {
      const permission =
        Notification.permission === "granted"
          ? "granted"
          : await Notification.requestPermission();
      this.notify = permission === "granted";
    } else {
      this.notify = false;
    }
    safeSet(NOTIFY_KEY, this.notify ? "1" : "0");
    this.showNotify();
  }

  showNotify() {
    const on =
      this.notify &&
      "Notification" in window &&
      Notification.permission === "granted";
    this.button.setAttribute("aria-pressed", String(on));
    this.button.textContent = t(on ? "alerts_notify_on" : "alerts_notify_off");
  }

  raise(alert) {
    if (!this.notify || !("Notification" in window)) return;
    if (Notification.permission !== "granted") return;
    const [title, ...rest] = String(alert.text || alert.rule).split("\n");
    // `tag`: two open tabs raise one notification per alert, not two
    new Notification(title, { body: rest.join("\n"), tag: alert.id });
  }
}

function row(alert) {
  const side = alert.event?.side || alert.cascade?.side || "";
  const [title, ...rest] = String(alert.text || "").split("\n");
  const deliveries = Object.entries(alert.deliveries || {});
  const sent = deliveries.filter(([, state]) => state === "sent").length;
  return el(
    "li",
    {
      class: `alert-item ${side}`,
      dataset: { id: alert.id, kind: alert.kind },
    },
    el("span", { class: "alert-time muted" }, formatTime(alert.fired_at)),
    el("span", { class: "alert-title" }, title),
    el("span", { class: "alert-body muted" }, rest.join(" · ")),
    deliveries.length
      ? el(
          "span",
          {
            class: "alert-delivery muted",
            title: deliveries.map(([c, s]) => `${c}: ${s}`).join(", "),
          },
          t("alerts_sent", { sent, total: deliveries.length }),
        )
      : null,
  );
}
