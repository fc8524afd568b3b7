"""Driving the dashboard in Chromium: open it, watch for errors, read the tape and cards.

`Dashboard` records everything that must never happen on the page — JavaScript errors,
CSP violations, `alert()`/`confirm()` dialogs — so each test can assert they stayed empty.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Browser, ConsoleMessage, Dialog, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Marks when the page's newest EventSource got its first `summary`: the server sends one
#: only to a subscribed client (the response headers, which make the page say "live", come
#: before), so from then on every new entry reaches the page.
SUBSCRIBED_PROBE = """
(() => {
  const Native = window.EventSource;
  window.__sseSubscribed = false;
  window.EventSource = class extends Native {
    constructor(url, options) {
      super(url, options);
      window.__sseSubscribed = false;
      window.__sseNewest = this;
      this.addEventListener("summary", () => {
        if (window.__sseNewest === this) window.__sseSubscribed = true;
      });
    }
  };
})();
"""
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}


class Dashboard:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.dialogs: list[str] = []
        self._pending: set[asyncio.Future[None]] = set()
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._on_console)

    @classmethod
    async def open(
        cls, browser: Browser, base_url: str, query: str = "", viewport: dict[str, int] = DESKTOP
    ) -> Dashboard:
        context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        await context.add_init_script(SUBSCRIBED_PROBE)
        page = await context.new_page()
        dashboard = cls(page, base_url)
        await dashboard.goto(query)
        return dashboard

    async def goto(self, query: str = "") -> None:
        await self.page.goto(f"{self.base_url}/{query}")
        await self.wait_live()

    async def reload(self) -> None:
        await self.page.reload()
        await self.wait_live()

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        task = asyncio.ensure_future(dialog.dismiss())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" and "Failed to load resource" not in text:
            self.errors.append(f"console: {text}")
        elif "Content Security Policy" in text:
            self.errors.append(f"csp: {text}")

    async def wait_live(self, timeout: float = 10_000) -> None:
        """Until the page shows "live" and its stream is subscribed (`SUBSCRIBED_PROBE`)."""
        await self.page.wait_for_selector("#conn[data-state=live]", timeout=timeout)
        await self.page.wait_for_function("() => window.__sseSubscribed", timeout=timeout)

    async def tape_ids(self, root: str = "#tape") -> list[str]:
        ids: list[str] = await self.page.eval_on_selector_all(
            f"{root} li.row", "rows => rows.map(r => r.dataset.id)"
        )
        return ids

    async def tape_symbols(self) -> list[str]:
        symbols: list[str] = await self.page.eval_on_selector_all(
            "#tape li.row button.coin", "bs => bs.map(b => b.textContent)"
        )
        return symbols

    async def wait_for_rows(self, ids: list[str], timeout: float = 5_000) -> None:
        """Until every id is a row of the tape."""
        await self.page.wait_for_function(
            'ids => ids.every(id => document.querySelector(`#tape li.row[data-id="${id}"]`))',
            arg=ids,
            timeout=timeout,
        )

    async def wait_for_rows_gone(self, ids: list[str], timeout: float = 5_000) -> None:
        """Until none of the ids is a row of the tape."""
        await self.page.wait_for_function(
            'ids => ids.every(id => !document.querySelector(`#tape li.row[data-id="${id}"]`))',
            arg=ids,
            timeout=timeout,
        )

    async def wait_for_row_count(self, count: int, timeout: float = 5_000) -> None:
        await self.page.wait_for_function(
            "n => document.querySelectorAll('#tape li.row').length === n",
            arg=count,
            timeout=timeout,
        )

    async def cards(self) -> dict[str, dict[str, Any]]:
        """What each window card shows, as raw numbers from its data-value attributes."""
        cards: dict[str, dict[str, Any]] = await self.page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('#cards .card')].map(c => {
                const v = (sel) => {
                    const n = c.querySelector(sel);
                    return n ? Number(n.dataset.value) : null;
                };
                return [c.dataset.window, {
                    long_usd: v('.long-usd'), short_usd: v('.short-usd'),
                    long_count: v('.long-count'), short_count: v('.short-count'),
                    largest_usd: v('.largest'), incomplete: !!c.querySelector('.flag-incomplete'),
                    capped_seconds: v('.flag-capped') ?? 0,
                }];
            }))"""
        )
        return cards

    async def no_horizontal_scroll(self) -> tuple[int, int]:
        sizes: list[int] = await self.page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        return sizes[0], sizes[1]

    async def settle(self) -> None:
        """Two animation frames: everything queued for rendering has been rendered."""
        await self.page.evaluate(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )

    async def close(self) -> None:
        await self.page.context.close()
