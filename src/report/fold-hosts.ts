// Folding hosts whose outcome is the same, for human output at fleet scale:
// failed and unreachable hosts stay one by one, the rest are grouped by an
// identity key that leaves out timings and the host's own name in its texts.
import type { HostOutcome } from "../orchestrator/run-document.js";
import type { PlayHostOutcome } from "../orchestrator/steps/step-results.js";
import { compactHostList } from "./host-ranges.js";

/** Stands for the host's own name in a folded block's texts. */
export const HOST_PLACEHOLDER = "<host>";

/** The text with the host's own name replaced by HOST_PLACEHOLDER (so that "mta01 said x" and "mta02 said x" match). */
export function withoutHostName(text: string | undefined, host: string): string | undefined {
  return text === undefined || host === "" ? text : text.split(host).join(HOST_PLACEHOLDER);
}

/** A duration in a text ("healthy after 1.2 s", "postfix-in 12 ms"): the number, then the unit. */
const TIMING = /\b(\d+(?:\.\d+)?)( ?(?:ms|s))\b/g;

/** The text with every duration's number left out, for comparing outcomes apart from timings. */
export const withoutTimings = (text: string | undefined): string | undefined => text?.replace(TIMING, "#$2");

/** Texts equal apart from their durations, as one text: each duration shown as the range over all texts ("1.2–1.9 s"). */
export function mergeTimings(texts: readonly string[]): string {
  const values = texts.map((t) => [...t.matchAll(TIMING)].map((m) => m[1]!));
  let k = 0;
  return texts[0]!.replace(TIMING, (_m, _n: string, unit: string) => {
    const at = values.map((v) => v[k] ?? v[0]!);
    k++;
    const sorted = [...at].sort((a, b) => Number(a) - Number(b));
    const [lo, hi] = [sorted[0]!, sorted[sorted.length - 1]!];
    return `${Number(lo) === Number(hi) ? lo : `${lo}–${hi}`}${unit}`;
  });
}

/** The label for a group of hosts: the host's name, or `mta[01:40] (40 hosts)`. */
export const groupLabel = (hosts: readonly string[]): string => (hosts.length === 1 ? hosts[0]! : `${compactHostList(hosts)} (${hosts.length} hosts)`);

/** A group of hosts with the same outcome as one block: each host's block rendered under the group's label with its own
 * name replaced, merged into one (durations as ranges). */
export function renderFolded<T extends HostOutcome>(group: readonly T[], render: (h: T, label: string, text: (s: string) => string) => string): string {
  const label = groupLabel(group.map((h) => h.host));
  if (group.length === 1) return render(group[0]!, label, (s) => s);
  return mergeTimings(group.map((h) => render(h, label, (s) => withoutHostName(s, h.host)!)));
}

/** Failed and unreachable hosts are always shown in full. */
export const shownInFull = (h: HostOutcome): boolean => h.status === "failed" || h.status === "unreachable";

/** A playbook host's outcome apart from its name and timings: status, texts, steps with their instances (status, action, via, changes, error). */
export function playHostKey(h: PlayHostOutcome): string {
  const t = (s: string | undefined) => withoutTimings(withoutHostName(s, h.host));
  return JSON.stringify([
    h.status,
    t(h.error),
    t(h.message),
    t(h.incomplete),
    (h.steps ?? []).map((s) => [
      s.index,
      s.name,
      s.status,
      t(s.error),
      t(s.skipped),
      s.instances.map((i) => [i.instance, i.status, t(i.action), i.via, t(i.error), i.changes ?? []]),
    ]),
  ]);
}

/** A one-command host's outcome apart from its name and timings: status, texts, output and per-instance results. */
export function hostKey(h: HostOutcome): string {
  const t = (s: string | undefined) => withoutTimings(withoutHostName(s, h.host));
  return JSON.stringify([
    h.status,
    t(h.error),
    t(h.message),
    t(h.stdout),
    h.results.map((r) => [r.instance, r.command, r.exitCode, t(r.stdout), t(r.stderr), r.changed, t(r.skipped)]),
  ]);
}

