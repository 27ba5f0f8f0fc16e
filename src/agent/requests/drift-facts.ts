// `drift-facts` requests: every instance's main.cf and master.cf as the host's
// own postconf shows them (-n, -M, -F, -P), in one request, read only. The
// controller compares them across the fleet (postfleet drift).
import { createHash } from "node:crypto";
import { hostname, networkInterfaces } from "node:os";
import type { DriftFactsRequest, DriftFactsResponse, InstanceConfig, MasterService } from "../../protocol/index.js";
import { baseEnv } from "../postmulti/environment.js";
import { loadInstanceTable } from "./load-instances.js";
import { masterEntries } from "../postfix/master-cf.js";
import { parsePostconfLines } from "../postfix/postconf.js";
import type { RequestContext } from "../serve/request-context.js";
import { postconfRun, RequestError, throwIfAborted, toAgentError, type RequestInstance } from "./request-instance.js";
import { instanceInfo } from "../postmulti/instance-format.js";
import { canonicalJson } from "../../protocol/canonical-json.js";

/** The host's addresses other than loopback and IPv6 link-local ones. */
export function hostAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || a.address.toLowerCase().startsWith("fe80:")) continue;
      out.add(a.address);
    }
  }
  return [...out];
}

export function configHash(main: Record<string, string>, master: MasterService[]): string {
  return createHash("sha256").update(canonicalJson({ main, master })).digest("hex");
}

async function readInstance(ctx: RequestContext, ri: RequestInstance, order: number): Promise<InstanceConfig> {
  const base = { ...ri.info, order };
  try {
    const main = Object.fromEntries(parsePostconfLines((await postconfRun(ctx, ri, ["-n"])).stdout).values);
    const lines = (await postconfRun(ctx, ri, ["-M"])).stdout;
    const fields = (await postconfRun(ctx, ri, ["-F"])).stdout;
    const params = (await postconfRun(ctx, ri, ["-P"])).stdout;
    const master: MasterService[] = [...masterEntries(fields, params, lines).values()].map((e) => ({
      key: e.key,
      line: e.line,
      fields: { ...e.fields },
      params: Object.fromEntries(e.params),
    }));
    return { ...base, main, master, hash: configHash(main, master) };
  } catch (e) {
    if (e instanceof RequestError && (e.code === "cancelled" || e.code === "timeout")) throw e;
    return { ...base, main: {}, master: [], hash: "", error: toAgentError(e).message };
  }
}

export async function handleDriftFacts(req: DriftFactsRequest, ctx: RequestContext): Promise<DriftFactsResponse> {
  const answer: DriftFactsResponse = { id: req.id, op: "drift-facts", postfixVersion: "", hostname: hostname(), addresses: hostAddresses(), instances: [] };
  try {
    const { primary, instances } = await loadInstanceTable(ctx.env);
    answer.postfixVersion = primary.mailVersion;
    const postconf = `${primary.commandDir}/postconf`;
    const postfix = `${primary.commandDir}/postfix`;
    for (const [order, instance] of instances.entries()) {
      throwIfAborted(ctx, "drift-facts");
      const ri: RequestInstance = { primary, instance, info: instanceInfo(instance), base: baseEnv(ctx.env, primary, 0), postconf, postfix };
      answer.instances.push(await readInstance(ctx, ri, order));
    }
  } catch (e) {
    answer.error = toAgentError(e);
  }
  return answer;
}
