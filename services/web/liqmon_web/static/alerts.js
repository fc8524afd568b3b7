// The alert threshold: liquidations at or above it are highlighted on the tape (the
// "whale" row) and, when sound is on, play a tone. One number, chosen in the top bar and
// kept in localStorage; the default keeps a quiet market quiet.

import { formatUsdCompact } from "./format.js";
import { safeGet, safeSet } from "./i18n.js";

const STORE_KEY = "liqmon.alertUsd";
export const ALERT_LEVELS = [
  50_000, 100_000, 250_000, 500_000, 1_000_000, 5_000_000,
];
export const DEFAULT_ALERT_USD = 1_000_000;

export function loadAlertUsd() {
  const stored = Number(safeGet(STORE_KEY));
  return ALERT_LEVELS.includes(stored) ? stored : DEFAULT_ALERT_USD;
}

/** Fill the <select> with the levels, select `current`, call `onChange(usd)` on changes. */
export function setupAlertSelect(select, current, onChange) {
  select.replaceChildren(
    ...ALERT_LEVELS.map((usd) => {
      const option = document.createElement("option");
      option.value = String(usd);
      option.textContent = `≥ ${formatUsdCompact(usd).replace(/\.0+(?=[KMB]$)/, "")}`;
      option.selected = usd === current;
      return option;
    }),
  );
  select.addEventListener("change", () => {
    const usd = Number(select.value);
    safeSet(STORE_KEY, String(usd));
    onChange(usd);
  });
}
