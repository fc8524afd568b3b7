// English and 中文. Static text carries data-i18n="key" (or data-i18n-placeholder /
// data-i18n-title); dynamic text calls t(key, vars). The choice is kept in the URL (?lang=)
// and localStorage, so a shared link opens in the same language.

const STRINGS = {
  en: {
    title: "liqmon — live liquidations",
    coins: "Coins",
    exchanges: "Exchanges",
    side: "Side",
    side_all: "All",
    long: "Long",
    short: "Short",
    min_usd: "Min USD",
    apply: "Apply",
    clear: "Clear",
    sound: "Sound",
    alert: "Alert",
    alert_title:
      "Liquidations at or above this are highlighted on the tape and, with sound on, play a tone",
    sound_on: "Sound on",
    sound_off: "Sound off",
    // the alerts panel (alert-panel.js)
    alerts_panel: "Alerts",
    alerts_notify_on: "Notify on",
    alerts_notify_off: "Notify off",
    alerts_notify_title: "A browser notification for each alert",
    alerts_empty: "No alerts yet",
    alerts_sent: "sent {sent}/{total}",
    sound_title:
      "Play a tone for liquidations at or above the alert level (bigger ones sound different)",
    lang_switch: "中文",
    conn_connecting: "connecting…",
    conn_live: "live",
    conn_reconnecting: "reconnecting…",
    conn_offline: "offline — retrying",
    conn_stalled: "stalled — reconnecting",
    conn_refused: "filter refused",
    tape: "Live tape",
    tape_time: "Time",
    tape_coin: "Coin",
    tape_exchange: "Exchange",
    tape_price: "Price",
    tape_size: "Size",
    tape_rows: "{n} rows",
    tape_empty: "Waiting for liquidations…",
    filters_none: "all coins, all exchanges",
    windows: "Windows",
    card_long: "Long",
    card_short: "Short",
    largest: "Largest",
    none: "none",
    incomplete: "partial",
    incomplete_title:
      "This window overlaps a time when a collector was not connected, or starts before data collection began: some liquidations may be missing from these totals.",
    capped: "{n} capped s",
    capped_title:
      "Contract-seconds in which a sampled feed (Binance, OKX: at most one liquidation per contract per second) reported one — more may have happened in each, so the true total is probably higher.",
    split: "By exchange — {w}",
    total: "Total",
    exchange: "Exchange",
    count: "count",
    top_long: "Top long liquidations — {w}",
    top_short: "Top short liquidations — {w}",
    show_more: "Show more",
    show_less: "Show fewer",
    rank_empty: "No liquidations in this window",
    chart: "Long vs short USD per minute",
    chart_note: "long above zero, short below",
    chart_attr: "Charts by TradingView Lightweight Charts™",
    chart_all: "all coins, all exchanges",
    health: "Data health",
    health_status: "status",
    health_state: "state",
    health_last: "last event",
    health_ago: "{age} ago",
    health_gaps: "gaps",
    health_gap_open: "no data for {age}",
    feed_complete: "complete",
    feed_complete_title: "This exchange publishes every liquidation.",
    feed_sampled: "sampled",
    feed_sampled_title:
      "This exchange publishes only a sample (at most one liquidation per symbol per second): its totals are lower bounds.",
    state_connected: "connected",
    state_disconnected: "disconnected",
    state_stopped: "not running",
    state_unknown: "unknown",
    // the Venues view (venues.js)
    venues_title: "Venues — {w}",
    venues_venue: "Venue",
    venues_feed: "Feed",
    venues_usd_share: "Share of USD",
    venues_count_share: "Share of count",
    venues_collector: "Collector",
    venues_notes_title: "What this venue's numbers rest on:",
    health_aggregator: "aggregator",
    health_lag: "lag",
    health_pending: "pending",
    health_redis: "Redis",
    redis_ok: "ok",
    redis_down: "unreachable",
    health_unreachable: "health endpoint unreachable",
    sample_note:
      "Exchanges marked sampled publish at most one liquidation per contract per second, so their totals are lower bounds; the others publish every liquidation.",
    dismiss: "Dismiss",
    coin_view: "{coin}",
    coin_windows: "Per window",
    coin_avg_long: "avg long px",
    coin_avg_short: "avg short px",
    coin_recent: "Recent liquidations",
    close: "Close",
    window: "Window",
    as_of: "as of {time}",
    stale: "stale",
    loading: "loading…",
    error: "error: {msg}",
  },
  zh: {
    title: "liqmon — 实时爆仓",
    coins: "币种",
    exchanges: "交易所",
    side: "方向",
    side_all: "全部",
    long: "多单",
    short: "空单",
    min_usd: "最小金额 (USD)",
    apply: "应用",
    clear: "清除",
    sound: "声音",
    alert: "提醒",
    alert_title: "达到此金额的爆仓在列表中高亮，开启声音时播放提示音",
    sound_on: "声音开",
    sound_off: "声音关",
    // the alerts panel (alert-panel.js)
    alerts_panel: "告警",
    alerts_notify_on: "通知开",
    alerts_notify_off: "通知关",
    alerts_notify_title: "每条告警弹出浏览器通知",
    alerts_empty: "暂无告警",
    alerts_sent: "已发送 {sent}/{total}",
    sound_title: "达到提醒金额的爆仓播放提示音（金额越大音调不同）",
    lang_switch: "English",
    conn_connecting: "连接中…",
    conn_live: "实时",
    conn_reconnecting: "重新连接中…",
    conn_offline: "已断开 — 重试中",
    conn_stalled: "无数据 — 重新连接",
    conn_refused: "筛选无效",
    tape: "实时爆仓",
    tape_time: "时间",
    tape_coin: "币种",
    tape_exchange: "交易所",
    tape_price: "价格",
    tape_size: "金额",
    tape_rows: "{n} 条",
    tape_empty: "等待爆仓数据…",
    filters_none: "全部币种，全部交易所",
    windows: "时间窗口",
    card_long: "多单",
    card_short: "空单",
    largest: "最大单笔",
    none: "无",
    incomplete: "不完整",
    incomplete_title:
      "此窗口包含采集器未连接的时段，或早于数据采集开始：这些总额可能遗漏部分爆仓。",
    capped: "{n} 秒触及上限",
    capped_title:
      "抽样推送（币安、OKX：每个合约每秒最多一笔）报告了爆仓的合约秒数——每一秒内可能还有更多，真实总额可能更高。",
    split: "按交易所 — {w}",
    total: "合计",
    exchange: "交易所",
    count: "笔",
    top_long: "多单爆仓排行 — {w}",
    top_short: "空单爆仓排行 — {w}",
    show_more: "显示更多",
    show_less: "收起",
    rank_empty: "该窗口内无爆仓",
    chart: "每分钟多空爆仓金额 (USD)",
    chart_note: "零轴上方为多单，下方为空单",
    chart_attr: "图表：TradingView Lightweight Charts™",
    chart_all: "全部币种，全部交易所",
    health: "数据状态",
    health_status: "状态",
    health_state: "连接",
    health_last: "最新事件",
    health_ago: "{age} 前",
    health_gaps: "中断",
    health_gap_open: "已 {age} 无数据",
    feed_complete: "完整",
    feed_complete_title: "该交易所推送每一笔爆仓。",
    feed_sampled: "抽样",
    feed_sampled_title:
      "该交易所只推送抽样（每个币种每秒最多一笔）：其总额为下限。",
    state_connected: "已连接",
    state_disconnected: "已断开",
    state_stopped: "未运行",
    state_unknown: "未知",
    venues_title: "交易所 — {w}",
    venues_venue: "交易所",
    venues_feed: "数据",
    venues_usd_share: "金额占比",
    venues_count_share: "笔数占比",
    venues_collector: "采集器",
    venues_notes_title: "该交易所数据的依据：",
    health_aggregator: "聚合器",
    health_lag: "延迟",
    health_pending: "待处理",
    health_redis: "Redis",
    redis_ok: "正常",
    redis_down: "无法连接",
    health_unreachable: "无法获取健康状态",
    sample_note:
      "标为抽样的交易所每个合约每秒最多推送一笔爆仓，其总额为下限；其他交易所推送每一笔爆仓。",
    dismiss: "关闭",
    coin_view: "{coin}",
    coin_windows: "各时间窗口",
    coin_avg_long: "多单均价",
    coin_avg_short: "空单均价",
    coin_recent: "最近爆仓",
    close: "关闭",
    window: "窗口",
    as_of: "更新于 {time}",
    stale: "已过期",
    loading: "加载中…",
    error: "错误：{msg}",
  },
};

export const LANGS = Object.keys(STRINGS);
let current = "en";
const listeners = new Set();

/** Translate `key`, filling {name} placeholders from `vars`. Unknown keys show the key. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) =>
    name in vars ? String(vars[name]) : `{${name}}`,
  );
}

export function getLang() {
  return current;
}

/** Pick the language: URL ?lang= first, then localStorage, then the browser's. */
export function initialLang() {
  const fromUrl = new URLSearchParams(location.search).get("lang");
  if (LANGS.includes(fromUrl)) return fromUrl;
  const stored = safeGet("liqmon.lang");
  if (LANGS.includes(stored)) return stored;
  return (navigator.language || "").toLowerCase().startsWith("zh")
    ? "zh"
    : "en";
}

export function setLang(lang) {
  current = LANGS.includes(lang) ? lang : "en";
  safeSet("liqmon.lang", current);
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]"))
    node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-i18n-title]"))
    node.title = t(node.dataset.i18nTitle);
  for (const fn of listeners) fn(current);
}

/** Call `fn(lang)` after every language change (dynamic parts re-render themselves). */
export function onLangChange(fn) {
  listeners.add(fn);
}

export function safeGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function safeSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode or quota: the setting just isn't remembered */
  }
}
