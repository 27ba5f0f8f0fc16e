// One host's part of a run: connect once, (for agent commands) make sure the
// agent is there (pushed by content hash, verified), start it once in its
// long-running mode, do the command's requests over that one stream, close.
// Transport failures become the host's outcome: "unreachable" only when the
// host could not be reached at all, "failed" for everything else (auth, host
// key, sudo, Node.js).
import { TransportError, openHost, type AgentClient, type HostSession, type TransportOptions } from "../transport/index.js";
import type { ConnectionTarget } from "../transport/target.js";
import type { HostOutcome } from "../report/document.js";
import { errorText } from "./fleet.js";

export type HostResult = Omit<HostOutcome, "durationMs">;

/** Connect, run `work` on the session, close; errors become the host's outcome. */
export async function withHost(
  target: ConnectionTarget,
  transport: TransportOptions,
  work: (session: HostSession) => Promise<HostResult>,
): Promise<HostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let session: HostSession | undefined;
  try {
    session = await openHost(target, transport);
    return { ...(await work(session)), durationMs: elapsed() };
  } catch (err) {
    const unreachable = err instanceof TransportError && err.unreachable;
    return { host: target.name, status: unreachable ? "unreachable" : "failed", error: errorText(err), results: [], durationMs: elapsed() };
  } finally {
    await session?.close().catch(() => undefined);
  }
}

export interface HostAgentOptions {
  agentBundle: string;
  /** Shared by every host of the run (one KeyStore: each key decrypted once). */
  transport: TransportOptions;
}

/** `withHost`, with the agent pushed (if needed) and started once for `work`. */
export function withHostAgent(
  target: ConnectionTarget,
  o: HostAgentOptions,
  work: (client: AgentClient, session: HostSession) => Promise<HostResult>,
): Promise<HostOutcome> {
  return withHost(target, o.transport, async (session) => {
    await session.ensureAgent(o.agentBundle);
    const client = await session.startAgent();
    try {
      return await work(client, session);
    } finally {
      await client.close().catch(() => undefined);
    }
  });
}
