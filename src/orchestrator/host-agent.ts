// One host's part of a run: connect once, make sure the agent is there
// (pushed by content hash, verified), start it once in its long-running mode,
// do the command's requests over that one stream, close. Transport failures
// become the host's outcome: "unreachable" only when the host could not be
// reached at all, "failed" for everything else (auth, host key, sudo, Node.js).
import { TransportError, openHost, type AgentClient, type HostSession, type TransportOptions } from "../transport/index.js";
import type { ConnectionTarget } from "../transport/target.js";
import type { HostOutcome } from "../report/document.js";
import { errorText } from "./fleet.js";

export interface HostAgentOptions {
  agentBundle: string;
  /** Shared by every host of the run (one KeyStore: each key decrypted once). */
  transport: TransportOptions;
}

export type AgentWork = (client: AgentClient, session: HostSession) => Promise<Omit<HostOutcome, "durationMs">>;

export async function withHostAgent(target: ConnectionTarget, o: HostAgentOptions, work: AgentWork): Promise<HostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let session: HostSession | undefined;
  let client: AgentClient | undefined;
  try {
    session = await openHost(target, o.transport);
    await session.ensureAgent(o.agentBundle);
    client = await session.startAgent();
    const outcome = await work(client, session);
    return { ...outcome, durationMs: elapsed() };
  } catch (err) {
    const unreachable = err instanceof TransportError && err.unreachable;
    return { host: target.name, status: unreachable ? "unreachable" : "failed", error: errorText(err), results: [], durationMs: elapsed() };
  } finally {
    await client?.close().catch(() => undefined);
    await session?.close().catch(() => undefined);
  }
}
