// The shape of a run's results: what `--json` prints (exactly one document)
// and what the human renderer reads. Field names are part of the CLI's
// contract; add fields, never rename.

export type HostStatus = "ok" | "changed" | "failed" | "unreachable" | "skipped";

export interface ResultRow {
  instance: string;
  /** The command run for this instance, as one quoted line ("" when none). */
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  changed: boolean;
  /** Why nothing was run for this instance (e.g. "not running" for stop). */
  skipped?: string;
  group?: string;
  configDirectory?: string;
  enabled?: boolean;
}

export interface HostOutcome {
  host: string;
  status: HostStatus;
  /** Why the host failed, was unreachable or skipped. Never contains secrets. */
  error?: string;
  /** One line about the host (ping: versions; bootstrap: what was installed). */
  message?: string;
  /** What the host's command printed itself, apart from per-instance results (e.g. `postmulti -l`). */
  stdout?: string;
  results: ResultRow[];
  durationMs: number;
  /** Command-specific data (ping: versions; report: instances). */
  data?: Record<string, unknown>;
}

export interface Summary {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
}

export interface RunDocument {
  command: string;
  summary: Summary;
  /** True when the run was interrupted; hosts not reached are "skipped". */
  aborted: boolean;
  hosts: HostOutcome[];
}

/** Exit codes of every postfleet command that reaches hosts. */
export const EXIT = { ok: 0, usage: 1, failed: 2, unreachable: 3, aborted: 4 } as const;

export function summarize(hosts: readonly HostOutcome[]): Summary {
  const s: Summary = { ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0 };
  for (const h of hosts) s[h.status]++;
  return s;
}

export function exitCodeOf(doc: RunDocument): number {
  if (doc.aborted) return EXIT.aborted;
  if (doc.summary.failed > 0) return EXIT.failed;
  if (doc.summary.unreachable > 0) return EXIT.unreachable;
  return EXIT.ok;
}
