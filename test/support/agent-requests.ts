// Drive the agent's config, health and service requests on a lab host
// through the real serve path: `node agent.cjs --serve`, one request per
// run (plus a `cancel` after cancelAfterMs when asked), its answer parsed.
import type { AgentRequest, ConfigRequest, ConfigResponse, FactsResponse, HealthRequest, HealthResponse, ServiceRequest, ServiceResponse } from "../../src/protocol/index.js";
import type { TestLabHost } from "./lab.js";
import { AGENT, sh } from "./agent-on-host.js";
import { shellQuote } from "../../src/transport/shell.js";


type Extra = { cancelAfterMs?: number };
type Req<T> = Omit<T, "id"> & Extra;

async function call<T>(host: TestLabHost, req: { op: AgentRequest["op"] } & Extra): Promise<T> {
  const { cancelAfterMs, ...rest } = req;
  const line = JSON.stringify({ id: 1, ...rest });
  const input =
    cancelAfterMs === undefined
      ? `printf '%s\\n' ${shellQuote(line)}`
      : `{ printf '%s\\n' ${shellQuote(line)}; sleep ${cancelAfterMs / 1000}; printf '%s\\n' '{"id":2,"op":"cancel","target":1}'; }`;
  const r = await sh(host, `${input} | node ${AGENT} --serve`);
  const answers = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: number; op: string });
  const answer = answers.find((a) => a.id === 1 && a.op !== "cancel");
  if (!answer) throw new Error(`no answer to request 1 (exit ${r.exitCode}):\n${r.stdout}${r.stderr}`);
  return answer as unknown as T;
}

export const config = (host: TestLabHost, req: Req<ConfigRequest>) => call<ConfigResponse>(host, req);
export const health = (host: TestLabHost, req: Req<HealthRequest>) => call<HealthResponse>(host, req);
export const service = (host: TestLabHost, req: Req<ServiceRequest>) => call<ServiceResponse>(host, req);
/** FactsResponse.systemd, as the controller sees it. */
export const systemdDetected = async (host: TestLabHost) => (await call<FactsResponse>(host, { op: "facts" })).systemd;
