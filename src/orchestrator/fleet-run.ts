// A run: the engine that owns it from the selected hosts to the run document.
// It holds one session (connection + started agent) per host for the whole
// run, works on at most `forks` hosts at a time in the order given, emits
// events for watchers, and turns every host's end into an outcome.
//
// Stopping: `stop` (first Ctrl-C, or a spent failure budget decided by the
// caller) starts no new host; hosts in progress finish their current work, the
// rest are "skipped" with the reason. `hardStop` (second Ctrl-C) also cancels
// the requests in flight; `inFlight()` names the hosts that may then be
// mid-operation.
import pLimit from "p-limit";
import { hostsWithoutKeyChecking, type ConnectionTarget, type TransportOptions } from "../transport/index.js";
import { RunEvents } from "./events.js";
import { errorText, statusOfError } from "./host-errors.js";
import { SessionPool } from "./host-session.js";
import type { HostContext, HostOperation, HostResult } from "./operations.js";
import { runDocument, type HostOutcome, type RunDocument } from "./run-document.js";

export interface RunSettings {
  targets: ReadonlyMap<string, ConnectionTarget>;
  /** Hosts worked on in parallel. */
  forks: number;
  /** Timeout of one operation on a host. */
  opTimeoutMs: number;
  agentBundle: string;
  /** Connection settings shared by all hosts (one KeyStore). */
  transport: TransportOptions;
  /** Start no new host (first Ctrl-C). */
  stop?: AbortSignal;
  /** Cancel what runs now (second Ctrl-C). */
  hardStop?: AbortSignal;
}

export interface RunHostsOptions {
  /** Close each host's session when its work ends (one-command runs: keeps open connections bounded). */
  release?: boolean;
  /** Checked before each host starts: a reason makes it "skipped" (e.g. "failure budget spent"). */
  skipReason?: () => string | undefined;
}

export const ABORTED_BEFORE_START = "run aborted before this host was reached";

export class FleetRun {
  readonly events = new RunEvents();
  readonly pool: SessionPool;
  private readonly running = new Map<string, string>();
  private readonly hardStop: AbortSignal;

  constructor(readonly settings: RunSettings) {
    // Every request waits for what the watchers hold it for (the journal on disk).
    this.pool = new SessionPool(settings.targets, { agentBundle: settings.agentBundle, transport: settings.transport, beforeRequest: () => this.events.settled() });
    this.hardStop = settings.hardStop ?? new AbortController().signal;
  }

  /** True once the run was told to start nothing new. */
  get stopped(): boolean {
    return (this.settings.stop?.aborted ?? false) || this.halted !== undefined;
  }

  /** Start nothing new, as a first Ctrl-C does, for a reason of the controller's own (its journal cannot be written). */
  halt(reason: string): void {
    this.halted ??= reason;
  }
  private halted: string | undefined;

  /** Those of `hosts` whose host key is not verified on this run (host key checking off), in order. */
  hostsWithoutKeyChecking(hosts: readonly string[]): string[] {
    // ssh_config is evaluated per host: once per run, for the banner and the document alike.
    this.uncheckedKeys ??= new Set(hostsWithoutKeyChecking(this.settings.targets.values(), this.settings.transport));
    const off = this.uncheckedKeys;
    return hosts.filter((h) => off.has(h));
  }
  private uncheckedKeys: Set<string> | undefined;

  /** Hosts at work now, with what they are doing (for the second Ctrl-C's message). */
  inFlight(): Array<{ host: string; doing: string }> {
    return [...this.running].map(([host, doing]) => ({ host, doing }));
  }

  /** Say what a host is doing now (shown if the run is stopped hard). */
  doing(host: string, what: string): void {
    if (this.running.has(host)) this.running.set(host, what);
  }

  /** `work` on every host, at most `forks` at a time; outcomes in the order of `hosts`. */
  async runHosts(hosts: readonly string[], work: (ctx: HostContext) => Promise<HostResult>, o: RunHostsOptions = {}): Promise<HostOutcome[]> {
    const limit = pLimit(Math.max(1, this.settings.forks));
    return Promise.all(
      hosts.map((host) =>
        limit(async (): Promise<HostOutcome> => {
          const reason = this.stopped ? ABORTED_BEFORE_START : o.skipReason?.();
          if (reason) {
            const skipped: HostOutcome = { host, status: "skipped", error: reason, results: [], durationMs: 0 };
            return skipped;
          }
          this.running.set(host, "starting");
          this.events.emit({ type: "host-started", host });
          const started = performance.now();
          const startedAt = new Date().toISOString();
          let outcome: HostOutcome;
          try {
            const ctx: HostContext = { host, session: this.pool.get(host), hardStop: this.hardStop, opTimeoutMs: this.settings.opTimeoutMs };
            outcome = { host, ...(await work(ctx)), durationMs: 0 };
          } catch (err) {
            // A transport error, or a bug in `work`: this host's outcome, never the others'.
            outcome = { host, status: statusOfError(err), error: errorText(err), results: [], durationMs: 0 };
          } finally {
            if (o.release) await this.pool.release(host);
            this.running.delete(host);
          }
          outcome.durationMs = Math.round(performance.now() - started);
          const timings = await this.pool.timings(host);
          if (timings) outcome.timings = timings;
          const hostKey = await this.pool.unverifiedHostKey(host);
          if (hostKey) outcome.hostKey = { verified: false, ...hostKey };
          outcome.startedAt = startedAt;
          outcome.finishedAt = new Date().toISOString();
          this.events.emit({ type: "host-finished", outcome });
          return outcome;
        }),
      ),
    );
  }

  /** One operation on every host: the whole of a one-command run (postmulti, ping, report, bootstrap). */
  async runOperation(hosts: readonly string[], op: HostOperation): Promise<RunDocument> {
    this.events.emit({ type: "run-started", command: op.label, hosts });
    try {
      const outcomes = await this.runHosts(hosts, (ctx) => op.run(ctx), { release: true });
      const doc = runDocument(op.label, outcomes, this.stopped, this.hostsWithoutKeyChecking(hosts));
      this.events.emit({ type: "run-finished", document: doc });
      return doc;
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.pool.closeAll();
  }
}
