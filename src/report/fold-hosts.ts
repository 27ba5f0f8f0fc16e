// Folding hosts whose outcome is the same, for human output at fleet scale:
// failed and unreachable hosts stay one by one, the rest are grouped by an
// identity key that leaves out timings and the host's own name in its texts.
import type { HostOutcome } from "../orchestrator/run-document.js";
import type { PlayHostOutcome } from "../orchestrator/steps/step-results.js";

/** Stands for the host's own name in a folded block's texts. */
export const HOST_PLACEHOLDER = "<host>";

/** The text with the host's own name replaced by HOST_PLACEHOLDER (so that "mta01 said x" and "mta02 said x" match). */
export function withoutHostName(text: string | undefined, host: string): string | undefined {
  return text === undefined || host === "" ? text : text.split(host).join(HOST_PLACEHOLDER);
}

/** Failed and unreachable hosts are always shown in full. */
export const shownInFull = (h: HostOutcome): boolean => h.status === "failed" || h.status === "unreachable";

/** Items grouped by key, groups in the order of their first item, items in their order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

/** A playbook host's outcome apart from its name and timings: status, texts, steps with their instances (status, action, via, changes, error). */
export function playHostKey(h: PlayHostOutcome): string {
  const t = (s: string | undefined) => withoutHostName(s, h.host);
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
      s.instances.map((i) => [i.instance, i.status, i.action, i.via, t(i.error), i.changes ?? []]),
    ]),
  ]);
}

/** A one-command host's outcome apart from its name and timings: status, texts, output and per-instance results. */
export function hostKey(h: HostOutcome): string {
  const t = (s: string | undefined) => withoutHostName(s, h.host);
  return JSON.stringify([
    h.status,
    t(h.error),
    t(h.message),
    t(h.stdout),
    h.results.map((r) => [r.instance, r.command, r.exitCode, t(r.stdout), t(r.stderr), r.changed, t(r.skipped)]),
  ]);
}
