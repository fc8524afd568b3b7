// Long vs short liquidations per minute (last 1 h / 4 h / 24 h) from /api/series, drawn
// with TradingView's lightweight-charts (vendored from npm, see services/web/frontend).
// Long bars point up, short bars down, so both sides read at a glance on one axis. The
// series is re-read every REFRESH_MS (the current minute grows live) and on any change of
// range or filters; the library's attribution logo is off because it injects an inline
// <style> the CSP forbids — the panel carries a text attribution link instead.

import { createChart, HistogramSeries } from "./vendor/lightweight-charts.mjs";
import { getSeries } from "./api.js";
import { formatDateTime, formatUsdCompact } from "./format.js";
import { t } from "./i18n.js";

export const RANGES = { "1h": 3_600_000, "4h": 14_400_000, "24h": 86_400_000 };
const REFRESH_MS = 15_000;
const LONG_COLOR = "#f6465d";
const SHORT_COLOR = "#0ecb81";

/** Chart time axis is UTC-based: shift epoch seconds so the labels show local time. */
const toChartTime = (ms) =>
  Math.floor(ms / 1000) - new Date(ms).getTimezoneOffset() * 60;
const fromChartTime = (sec) => {
  const guess = sec * 1000;
  return guess + new Date(guess).getTimezoneOffset() * 60_000;
};

export class MinuteChart {
  /**
   * @param {HTMLElement} container
   * @param {HTMLElement} status where errors / "loading" go
   * @param {{range: string, query?: object}} options
   */
  constructor(container, status, options) {
    this.container = container;
    this.status = status;
    this.range = RANGES[options.range] ? options.range : "1h";
    this.query = { ...(options.query ?? {}) };
    this.timer = null;
    this.loading = false;
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { color: "transparent" },
        textColor: "#8b93a7",
        fontFamily: getComputedStyle(document.body).fontFamily,
        attributionLogo: false,
      },
      grid: {
        vertLines: { color: "rgba(139,147,167,0.08)" },
        horzLines: { color: "rgba(139,147,167,0.08)" },
      },
      rightPriceScale: {
        borderColor: "rgba(139,147,167,0.2)",
        scaleMargins: { top: 0.12, bottom: 0.08 },
      },
      timeScale: {
        borderColor: "rgba(139,147,167,0.2)",
        timeVisible: true,
        secondsVisible: false,
      },
      localization: {
        priceFormatter: (value) => formatUsdCompact(Math.abs(value)),
        timeFormatter: (time) =>
          formatDateTime(fromChartTime(time)).slice(0, 16),
      },
      handleScroll: false,
      handleScale: false,
    });
    const format = {
      type: "custom",
      formatter: (value) => formatUsdCompact(Math.abs(value)),
      minMove: 1,
    };
    this.longSeries = this.chart.addSeries(HistogramSeries, {
      color: LONG_COLOR,
      priceFormat: format,
      priceLineVisible: false,
      lastValueVisible: false,
    });
    this.shortSeries = this.chart.addSeries(HistogramSeries, {
      color: SHORT_COLOR,
      priceFormat: format,
      priceLineVisible: false,
      lastValueVisible: false,
    });
    this.timer = setInterval(() => this.load(), REFRESH_MS);
  }

  /** Stop refreshing and free the canvas (the coin view makes one chart per opening). */
  destroy() {
    clearInterval(this.timer);
    this.timer = null;
    this.chart.remove();
  }

  setRange(range) {
    if (!RANGES[range]) return;
    this.range = range;
    this.load();
  }

  /** Coins / exchanges the chart follows (the tape's filters that /api/series supports). */
  setQuery(query) {
    this.query = { ...query };
    this.load();
  }

  async load() {
    if (this.loading || !this.timer) return;
    this.loading = true;
    const until = Date.now();
    const since = until - RANGES[this.range];
    try {
      const data = await getSeries({ ...this.query, since, until });
      const points = Array.isArray(data)
        ? data
        : (data.items ?? data.series ?? data.points ?? []);
      const byMinute = new Map();
      for (const p of points) byMinute.set(Math.floor(Number(p.t) / 60_000), p);
      // every minute of the range gets a bar (zero when quiet), so the axis spans the range
      const longs = [];
      const shorts = [];
      for (
        let m = Math.floor(since / 60_000) + 1;
        m <= Math.floor(until / 60_000);
        m += 1
      ) {
        const p = byMinute.get(m);
        const time = toChartTime(m * 60_000);
        longs.push({ time, value: Number(p?.long_usd) || 0 });
        shorts.push({ time, value: -(Number(p?.short_usd) || 0) });
      }
      this.longSeries.setData(longs);
      this.shortSeries.setData(shorts);
      this.chart.timeScale().fitContent();
      this.status.textContent = "";
      this.container.dataset.points = String(points.length);
    } catch (error) {
      this.status.textContent = t("error", { msg: error.message });
    } finally {
      this.loading = false;
    }
  }
}
