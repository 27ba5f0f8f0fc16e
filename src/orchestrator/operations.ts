// The typed operations a one-command run performs on each host. Each turns
// the agent's protocol answers into a host result; nothing here prints.
import type { FactsResponse, PostmultiResponse } from "../protocol/index.js";
import { buildCommand } from "../transport/index.js";
import type { RunHostSession } from "./host-session.js";
import type { FactsData, HostOutcome, PingData, ResultRow } from "./run-document.js";

/** A host's result before the engine adds its name and duration. */
export type HostResult = Omit<HostOutcome, "host" | "durationMs">;

export interface HostContext {
  host: string;
  session: RunHostSession;
  /** Aborted by a second Ctrl-C: stop at once (cancel requests in flight). */
  hardStop: AbortSignal;
  /** Timeout of one operation on the host. */
  opTimeoutMs: number;
}

export interface HostOperation {
  /** How the run names itself ("postmulti -p start", "ping"): the document's `command`. */
  label: string;
  run(ctx: HostContext): Promise<HostResult>;
}

/** An agent answer that says the whole request failed becomes an exception (→ host failed). */
function requireFacts(r: FactsResponse): FactsResponse {
  if (r.error) throw new Error(r.error.message);
  return r;
}

export function resultFromPostmulti(r: PostmultiResponse): HostResult {
  const results: ResultRow[] = r.results.map((i) => ({
    instance: i.name,
    command: i.command ? buildCommand(i.command) : "",
    exitCode: i.exitCode,
    stdout: i.stdout,
    stderr: i.stderr,
    durationMs: i.durationMs,
    changed: i.changed,
    ...(i.skipped ? { skipped: i.skipped } : {}),
    group: i.group,
    configDirectory: i.configDirectory,
    enabled: i.enabled,
  }));
  const failed = r.exitCode !== 0;
  const warnings = r.warnings.map((w) => `postmulti: warning: ${w}`);
  const error = r.error ? `postmulti: fatal: ${r.error.message}` : failed ? `postmulti exited with status ${r.exitCode}` : undefined;
  return {
    status: failed ? "failed" : r.changed ? "changed" : "ok",
    ...(error ? { error } : {}),
    ...(warnings.length ? { message: warnings.join("; ") } : {}),
    ...(r.stdout ? { stdout: r.stdout } : {}),
    results,
    data: { kind: "postmulti", exitCode: r.exitCode, dryRun: r.dryRun, ...(r.effects?.length ? { effects: r.effects } : {}) },
  };
}

/** Any postmulti(1) command, its arguments as an argv (never through a shell). */
export function postmultiOperation(args: readonly string[], o: { dryRun: boolean }): HostOperation {
  return {
    label: `postmulti ${buildCommand(args)}`,
    async run({ session, opTimeoutMs, hardStop }) {
      const r = await session.request({ op: "postmulti", args: [...args], dryRun: o.dryRun, timeoutMs: opTimeoutMs }, { signal: hardStop });
      return resultFromPostmulti(r);
    },
  };
}

/** Reachability, login, Node.js and Postfix versions, through the path every command uses. */
export function pingOperation(): HostOperation {
  return {
    label: "ping",
    async run({ session }) {
      const facts = requireFacts(await session.request({ op: "facts", queues: false }));
      const client = await session.agent();
      const data: PingData = {
        kind: "ping",
        nodeVersion: facts.nodeVersion,
        postfixVersion: facts.postfixVersion,
        agentVersion: facts.agentVersion,
        hostname: facts.hostname,
        instances: facts.instances.length,
        user: client.hello.uid === 0 ? "root" : `uid ${client.hello.uid}`,
      };
      return {
        status: "ok",
        message: `node ${data.nodeVersion}, postfix ${data.postfixVersion}, ${data.instances} instance(s), agent as ${data.user}`,
        results: [],
        data,
      };
    },
  };
}

/**
 * Every instance of the host with its state, directories and (optionally)
 * queue sizes; with `oldestDeferred`, the age of the oldest deferred message
 * of each instance that has deferred mail (the agent's `queue` request,
 * postqueue -j read as a stream on the host).
 */
export function factsOperation(o: { queues: boolean; oldestDeferred?: boolean }): HostOperation {
  return {
    label: "report",
    async run({ session, hardStop, opTimeoutMs }) {
      const facts = requireFacts(await session.request({ op: "facts", queues: o.queues }));
      const data: FactsData = { kind: "facts", postfixVersion: facts.postfixVersion, instances: facts.instances };
      if (o.oldestDeferred) {
        const ages: Record<string, number | null> = {};
        const errors: Record<string, string> = {};
        for (const i of facts.instances.filter((x) => (x.queues?.deferred ?? 0) > 0)) {
          const q = await session.request({ op: "queue", instance: i.primary ? "-" : i.name }, { signal: hardStop, timeoutMs: opTimeoutMs });
          if (q.error) errors[i.name] = q.error.message;
          else ages[i.name] = q.oldestDeferredS;
        }
        if (Object.keys(ages).length) data.oldestDeferredS = ages;
        if (Object.keys(errors).length) data.queueErrors = errors;
      }
      return { status: "ok", results: [], data };
    },
  };
}

/** Install Node.js (for the agent) with the host's package manager; needs no agent. */
/** Stop the resident agent this controller left on the host (`--agent-persist`), if any. */
export function stopResidentOperation(): HostOperation {
  return {
    label: "agent stop",
    async run({ session }) {
      const r = await (await session.connection()).stopResident();
      return r === "stopped"
        ? { status: "changed", message: "resident agent stopped", results: [] }
        : { status: "ok", message: "no resident agent of this controller", results: [] };
    },
  };
}

export function bootstrapOperation(): HostOperation {
  return {
    label: "bootstrap",
    async run({ session }) {
      const r = await (await session.connection()).bootstrap();
      const message = r.changed
        ? `installed Node.js ${r.after.version} with ${r.packageManager}${r.before ? ` (was ${r.before.version})` : ""}`
        : `Node.js ${r.after.version} already there (${r.after.path})`;
      return {
        status: r.changed ? "changed" : "ok",
        message,
        results: r.steps.map((s) => ({
          instance: "-",
          command: buildCommand(s.argv),
          exitCode: s.exitCode ?? -1,
          stdout: s.output,
          stderr: "",
          durationMs: 0,
          changed: true,
        })),
        data: { kind: "bootstrap", before: r.before, after: r.after, packageManager: r.packageManager },
      };
    },
  };
}
