// The dashboard's wiring: one live stream feeds the tape, cards, rankings and coin view;
// filters restart the tape (REST fill, then the stream resumes right after the newest row);
// health, chart and the expanded rankings poll the API on their own timers.

import { AlertPanel } from "./alert-panel.js";
import { loadAlertUsd, setupAlertSelect } from "./alerts.js";
import { getJson, getRecentLiquidations, getSummary } from "./api.js";
import { WindowCards } from "./cards.js";
import { MinuteChart, RANGES } from "./chart.js";
import { CoinView } from "./coin.js";
import { $, $$, el } from "./dom.js";
import {
  loadFilters,
  emptyFilters,
  isEmpty,
  readForm,
  saveFilters,
  setUrlParam,
  toQuery,
  writeForm,
} from "./filters.js";
import {
  formatInt,
  formatTime,
  formatUsd,
  formatUsdCompact,
} from "./format.js";
import { Health, setupSampleNote } from "./health.js";
import { getLang, initialLang, onLangChange, setLang, t } from "./i18n.js";
import { Rankings } from "./rankings.js";
import { Sound } from "./sound.js";
import { LiveStream } from "./stream.js";
import { MAX_ROWS, Tape } from "./tape.js";
import { VenuesView } from "./venues.js";

const SUMMARY_STALE_MS = 5000;
const FILL_RETRY_MS = 3000;
const FILL_PAGES = 5;

const params = new URLSearchParams(location.search);
const state = {
  filters: loadFilters(),
  window: params.get("window") || "1h",
  range: RANGES[params.get("range")] ? params.get("range") : "1h",
  summary: null,
  summaryAt: 0,
  exchanges: new Set(),
  fillSeq: 0,
};

setLang(initialLang());

const form = $("#filters");
const connPill = $("#conn");
const openCoin = (symbol) => coinView.open(symbol);

const alertUsd = loadAlertUsd();
const tape = new Tape($("#tape"), {
  highlightUsd: alertUsd,
  onCoin: openCoin,
  onRows: (n) => {
    $("#tape-count").textContent = t("tape_rows", { n: formatInt(n) });
  },
});
const cards = new WindowCards($("#cards"), $("#window-detail"), {
  selected: state.window,
  onSelect: (w) => {
    state.window = w;
    setUrlParam("window", w);
    rankings.setWindow(w);
    venuesView.setWindow(w);
  },
  onCoin: openCoin,
});
const rankings = new Rankings(
  {
    long: $("#top-long"),
    short: $("#top-short"),
    longTitle: $("#top-long-title"),
    shortTitle: $("#top-short-title"),
    more: $("#rank-more"),
  },
  { window: state.window, onCoin: openCoin },
);
const coinView = new CoinView($("#coin-view"));
const sound = new Sound();
sound.thresholdUsd = alertUsd;
setupAlertSelect($("#alert-threshold"), alertUsd, (usd) => {
  tape.setHighlight(usd);
  coinView.tape.setHighlight(usd);
  sound.thresholdUsd = usd;
});
const chart = new MinuteChart($("#chart"), $("#chart-status"), {
  range: state.range,
});
const venuesView = new VenuesView($("#venues"), $("#venues-title"));
const health = new Health($("#health"), (names, h) => {
  addExchanges(names);
  venuesView.setHealth(h);
});
setupSampleNote($("#sample-note"), $("#sample-note-close"));

const alertPanel = new AlertPanel($("#alert-panel"));
alertPanel.load();

const stream = new LiveStream({
  onAlert: (alert) => alertPanel.push(alert),
  onLiquidation: (event) => {
    tape.push(event);
    if (sound.play(event)) soundButton.dataset.played = String(sound.played);
    coinView.push(event);
    if (!state.exchanges.has(event.exchange)) addExchanges([event.exchange]);
  },
  onSummary: (summary) => showSummary(summary),
  onReset: () => refill(),
  onStatus: (s) => {
    showConnection(s);
    if (s === "live") alertPanel.load(); // alerts fired while disconnected
  },
});

// ---- filters -------------------------------------------------------------------------

function renderExchangeBoxes() {
  const box = $("#f-exchanges");
  const legend = box.querySelector("legend");
  const current = state.filters;
  // boxes already on screen keep what the user ticked (maybe not applied yet)
  const ticked = new Map(
    Array.from(box.querySelectorAll("input[name=exchange]"), (i) => [
      i.value,
      i.checked,
    ]),
  );
  const names = [...state.exchanges].sort();
  box.replaceChildren(
    legend,
    ...names.map((name) =>
      el(
        "label",
        { class: "chip" },
        el("input", {
          type: "checkbox",
          name: "exchange",
          value: name,
          checked: ticked.has(name)
            ? ticked.get(name)
            : current.exchanges.length === 0 ||
              current.exchanges.includes(name),
        }),
        el("span", { text: name }),
      ),
    ),
  );
}

/** New exchange names (from health, summaries or events) get a checkbox; nothing else changes. */
function addExchanges(names) {
  let added = false;
  for (const name of names) {
    if (
      typeof name === "string" &&
      name &&
      name.length <= 32 &&
      !state.exchanges.has(name)
    ) {
      state.exchanges.add(name);
      added = true;
    }
  }
  if (added) renderExchangeBoxes();
}

for (const name of state.filters.exchanges) state.exchanges.add(name);
renderExchangeBoxes();
// every venue of the registry gets a checkbox, whether or not it has sent anything yet
getJson("/api/venues")
  .then((venues) => {
    addExchanges(venues.map((v) => v.exchange));
    venuesView.setVenues(venues);
  })
  .catch(() => {}); // health, summaries and events still add the ones that are live
writeForm(form, state.filters);

form.addEventListener("submit", (event) => {
  event.preventDefault();
  applyFilters(readForm(form));
});
$("#f-clear").addEventListener("click", () => {
  writeForm(form, emptyFilters());
  applyFilters(emptyFilters());
});

function applyFilters(filters) {
  state.filters = filters;
  saveFilters(filters);
  showActiveFilters();
  chart.setQuery(seriesQuery());
  startTape();
}

/** /api/series takes one coin and one exchange: follow the filters when they name one. */
function seriesQuery() {
  const f = state.filters;
  const q = {
    symbol: f.symbols.length === 1 ? f.symbols[0] : undefined,
    exchange: f.exchanges.length === 1 ? f.exchanges[0] : undefined,
  };
  const scope = [q.symbol, q.exchange].filter(Boolean).join(" · ");
  $("#chart-scope").textContent = scope || t("chart_all");
  return q;
}

function showActiveFilters() {
  const f = state.filters;
  const parts = [];
  if (f.symbols.length) parts.push(f.symbols.join(", "));
  if (f.exchanges.length) parts.push(f.exchanges.join(", "));
  if (f.side) parts.push(t(f.side));
  if (f.minUsd > 0) parts.push(`≥ ${formatUsd(f.minUsd)}`);
  const node = $("#active-filters");
  node.textContent = isEmpty(f) ? t("filters_none") : parts.join(" · ");
  node.classList.toggle("filtered", !isEmpty(f));
}

// ---- tape ----------------------------------------------------------------------------

/** Fill the tape from the API, then stream from right after its newest row (no gap). */
async function startTape() {
  const seq = ++state.fillSeq;
  stream.close();
  tape.clear();
  const query = toQuery(state.filters);
  let lastId = null;
  try {
    const items = await fetchRecent(query);
    if (seq !== state.fillSeq) return;
    tape.fill(items);
    lastId = items[0]?.stream_id ?? null;
  } catch (error) {
    if (seq !== state.fillSeq) return;
    tape.showError(t("error", { msg: error.message }));
    if (error.status === 422) {
      showConnection("refused"); // a filter the server refuses: wait for the user
      return;
    }
    // server away: retry the whole start (fill first, so the tape has no hole)
    showConnection("offline");
    setTimeout(() => seq === state.fillSeq && startTape(), FILL_RETRY_MS);
    return;
  }
  stream.connect(query, lastId);
}

/** The newest MAX_ROWS matching liquidations, newest first (following `next` cursors). */
const fetchRecent = (query) =>
  getRecentLiquidations(query, MAX_ROWS, FILL_PAGES);

/** `event: reset` — our position fell out of retention: clear and reload what exists. */
async function refill() {
  const seq = ++state.fillSeq;
  try {
    const items = await fetchRecent(toQuery(state.filters));
    if (seq === state.fillSeq) tape.fill(items);
  } catch {
    if (seq === state.fillSeq) tape.clear();
  }
}

// ---- summary, connection -------------------------------------------------------------

// The cards show a push at once (they are what "totals within 100 ms" is about, and they
// update in place). The rest of a summary (the selected window's exchange split, the
// rankings, the venues, the tab title) follows at most every SECONDARY_MS: while events
// flow a summary comes up to 50 times a second, and redrawing every panel each time kept
// the browser's one thread busy with styling, layout and paint at 1,000 events/s, so the
// cards' own updates and the tape's events waited behind it.
const SECONDARY_MS = 250;
let secondaryAt = -Infinity;
let secondaryTimer = 0;

function showSummary(summary) {
  if (!summary?.windows) return;
  state.summary = summary;
  state.summaryAt = Date.now();
  cards.render(summary, { detail: false });
  $("#as-of").textContent = summary.as_of
    ? t("as_of", { time: formatTime(summary.as_of) })
    : "";
  $(".windows-panel").classList.remove("stale");
  if (secondaryTimer) return;
  const wait = secondaryAt + SECONDARY_MS - performance.now();
  if (wait <= 0) showSecondary();
  else secondaryTimer = setTimeout(showSecondary, wait);
}

function showSecondary() {
  secondaryTimer = 0;
  secondaryAt = performance.now();
  const summary = state.summary;
  cards.renderDetail(cards.selected, summary.windows[cards.selected]);
  rankings.update(summary);
  venuesView.setSummary(summary, cards.selected);
  for (const w of Object.values(summary.windows))
    addExchanges(Object.keys(w.by_exchange ?? {}));
  // the tab title carries the selected window's totals, for a trader with many tabs
  const w = summary.windows[cards.selected];
  if (w) {
    document.title = `${cards.selected} L ${formatUsdCompact(w.long_usd)} · S ${formatUsdCompact(w.short_usd)} — liqmon`;
  }
}

function showConnection(s) {
  connPill.className = `conn conn-${s}`;
  connPill.dataset.state = s;
  connPill.textContent = t(`conn_${s}`);
}

setInterval(() => {
  const stale =
    state.summaryAt > 0 && Date.now() - state.summaryAt > SUMMARY_STALE_MS;
  $(".windows-panel").classList.toggle("stale", stale);
}, 1000);

// ---- controls ------------------------------------------------------------------------

const soundButton = $("#sound-toggle");
function showSound() {
  soundButton.textContent = t(sound.enabled ? "sound_on" : "sound_off");
  soundButton.setAttribute("aria-pressed", String(sound.enabled));
}
soundButton.addEventListener("click", () => {
  sound.toggle();
  showSound();
});
// Sound left on from an earlier visit may only start after a gesture on this page.
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(
    type,
    () => sound.enabled && sound.ensureContext(),
    { once: true },
  );
}

$("#lang-toggle").addEventListener("click", () => {
  const next = getLang() === "zh" ? "en" : "zh";
  setUrlParam("lang", next);
  setLang(next);
});

onLangChange((lang) => {
  $("#lang-toggle").textContent = t("lang_switch");
  $("#lang-toggle").lang = lang === "zh" ? "en" : "zh-CN";
  showSound();
  showConnection(connPill.dataset.state || "connecting");
  showActiveFilters();
  seriesQuery();
  tape.report();
  if (state.summary) cards.relabel();
  rankings.render();
  health.render();
  for (const tag of $$(".tape .row .side-tag")) {
    tag.textContent = t(
      tag.closest(".row").dataset.side === "long" ? "long" : "short",
    );
  }
});

function showRange() {
  for (const button of $$("#chart-ranges button")) {
    button.setAttribute(
      "aria-pressed",
      String(button.dataset.range === state.range),
    );
  }
}
$("#chart-ranges").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-range]");
  if (!button) return;
  state.range = button.dataset.range;
  setUrlParam("range", state.range);
  showRange();
  chart.setRange(state.range);
});

// ---- start ---------------------------------------------------------------------------

setLang(getLang()); // runs the language listeners once, filling every dynamic label
showRange();
showActiveFilters();
chart.setQuery(seriesQuery());
getSummary().then(showSummary, () => {});
startTape();
if (params.get("coin")) coinView.open(params.get("coin"));
