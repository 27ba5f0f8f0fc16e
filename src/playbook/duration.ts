// Durations as playbooks write them: a number of seconds (10, 0.5) or a
// string of units in decreasing order ("1h30m", "2m", "30s", "500ms", "1m30s").

import { DURATION_RE } from "./schema.js";

/** Milliseconds of a duration value, or undefined when it is not one. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== "string") return undefined;
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const m = DURATION_RE.exec(value);
  if (!m || !/\d/.test(value)) return undefined;
  const [, h, min, s, ms] = m;
  return Math.round(Number(h ?? 0) * 3_600_000 + Number(min ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0));
}

/** "1h30m", "2m", "45s", "1.5s", "250ms": the shortest way to write `ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 1000 !== 0) return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}
