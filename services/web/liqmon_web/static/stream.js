// The live connection: one EventSource on /api/stream with the tape's filters.
//
// Resuming without gaps or duplicates: the browser's own auto-reconnect sends the
// Last-Event-ID header. When we rebuild the EventSource ourselves (the server answered with
// an error and the browser gave up, the stream stalled, or the filters changed while we
// want to continue after the rows we already have) the last id goes in the `last_event_id`
// query param instead. Liquidations whose stream id is not newer than the newest one
// delivered are dropped here, so a replay overlap can never show a row twice. (Stream ids,
// not event ids: the stream itself carries each liquidation once, docs/EVENTS.md.)

import { apiUrl } from "./api.js";
import { compareStreamIds } from "./format.js";

const STALL_MS = 10_000; // a summary comes at least every second: 10 s of nothing = dead
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

export class LiveStream {
  /**
   * @param {{onLiquidation: (ev: object) => void, onSummary: (s: object) => void,
   *          onReset: () => void, onStatus: (state: string) => void}} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.source = null;
    this.query = {};
    this.lastId = null;
    this.lastMessageAt = 0;
    this.failures = 0;
    this.retryTimer = null;
    this.stallTimer = setInterval(() => this.checkStall(), 2000);
    this.state = "connecting";
  }

  /** (Re)connect with these query params; resume after `lastId` if given. */
  connect(query, lastId = null) {
    this.query = { ...query };
    this.lastId = lastId;
    this.open();
  }

  open() {
    this.close();
    const params = { ...this.query };
    if (this.lastId) params.last_event_id = this.lastId;
    const source = new EventSource(apiUrl("/api/stream", params));
    this.source = source;
    this.lastMessageAt = Date.now();
    this.setState("connecting");
    source.addEventListener("open", () => {
      this.failures = 0;
      this.lastMessageAt = Date.now();
      this.setState("live");
    });
    source.addEventListener("liquidation", (message) =>
      this.onLiquidation(message),
    );
    source.addEventListener("summary", (message) => {
      this.touch();
      const data = parse(message.data);
      if (data) this.handlers.onSummary(data);
    });
    source.addEventListener("alert", (message) => {
      this.touch();
      const data = parse(message.data);
      if (data && this.handlers.onAlert) this.handlers.onAlert(data);
    });
    source.addEventListener("reset", () => {
      this.touch();
      this.lastId = null;
      this.handlers.onReset();
    });
    source.addEventListener("message", () => this.touch());
    source.addEventListener("error", () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (HTTP error, wrong type): retry ourselves with backoff.
        this.scheduleRetry();
      } else {
        this.setState("reconnecting");
      }
    });
  }

  touch() {
    this.lastMessageAt = Date.now();
    if (this.state !== "live") this.setState("live");
  }

  onLiquidation(message) {
    this.touch();
    const event = parse(message.data);
    if (!event) return;
    const id = message.lastEventId || event.stream_id;
    if (!id) return;
    if (this.lastId && compareStreamIds(id, this.lastId) <= 0) return; // replayed: drop
    this.lastId = id;
    if (!event.stream_id) event.stream_id = id;
    this.handlers.onLiquidation(event);
  }

  scheduleRetry() {
    this.close();
    this.setState("offline");
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures += 1;
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  checkStall() {
    if (!this.source || this.state === "offline") return;
    if (Date.now() - this.lastMessageAt > STALL_MS) {
      this.setState("stalled");
      this.open(); // resumes after this.lastId via the query param
    }
  }

  close() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.handlers.onStatus(state);
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
