// Optional sound for large liquidations: off by default (browsers also require a click
// before audio may start), for prints at or above the alert threshold (alerts.js), tiered
// by size. Synthesised with WebAudio — no audio files.
// Long liquidations play a falling tone, short ones a rising one; bigger tiers are lower,
// longer and louder. At most MAX_PER_SECOND tones a second, so a cascade stays bearable.

import { tierOf } from "./format.js";
import { safeGet, safeSet } from "./i18n.js";

const STORE_KEY = "liqmon.sound";
const MAX_PER_SECOND = 4;
/** Voices by size tier (format.TIERS); anything below tier 2 uses tier 2's. */
const VOICES = {
  2: { freq: 880, dur: 0.09, gain: 0.05 },
  3: { freq: 660, dur: 0.16, gain: 0.08 },
  4: { freq: 440, dur: 0.35, gain: 0.12 },
};

export class Sound {
  constructor() {
    this.enabled = safeGet(STORE_KEY) === "on";
    this.ctx = null;
    this.recent = [];
    this.played = 0; // tones actually started (shown on the button for tests and the curious)
    this.thresholdUsd = Infinity;
  }

  /** Toggle on a user gesture (required to start an AudioContext). */
  toggle() {
    this.enabled = !this.enabled;
    safeSet(STORE_KEY, this.enabled ? "on" : "off");
    if (this.enabled) this.ensureContext();
    return this.enabled;
  }

  ensureContext() {
    if (!this.ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      this.ctx = new Ctx();
    }
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    return this.ctx;
  }

  /** Maybe play one liquidation; true when a tone started. */
  play(event) {
    if (!this.enabled) return false;
    if (!(Number(event.usd) >= this.thresholdUsd)) return false;
    const tier = Math.max(2, tierOf(event.usd));
    const now = performance.now();
    this.recent = this.recent.filter((at) => now - at < 1000);
    if (this.recent.length >= MAX_PER_SECOND) return false;
    const ctx = this.ensureContext();
    if (!ctx || ctx.state !== "running") return false;
    this.recent.push(now);
    this.played += 1;
    const voice = VOICES[Math.min(tier, 4)];
    const start = ctx.currentTime;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = tier >= 4 ? "sawtooth" : "sine";
    const [from, to] =
      event.side === "long"
        ? [voice.freq, voice.freq * 0.75]
        : [voice.freq * 0.75, voice.freq];
    osc.frequency.setValueAtTime(from, start);
    osc.frequency.exponentialRampToValueAtTime(to, start + voice.dur);
    gain.gain.setValueAtTime(voice.gain, start);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + voice.dur);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + voice.dur + 0.02);
    return true;
  }
}
