// `postfleet drift`: one read-only `drift-facts` request per host; the host's
// result carries every instance's configuration and the names by which the
// host may appear in it (for normalization on the controller).
import type { DriftData } from "./drift-data.js";
import type { HostOperation } from "./operations.js";

/** Read every instance's main.cf and master.cf; `ansibleHost` gives each host's inventory address. */
export function driftOperation(o: { ansibleHost: (host: string) => string | undefined }): HostOperation {
  return {
    label: "drift",
    async run({ host, session, opTimeoutMs, hardStop }) {
      const r = await session.request({ op: "drift-facts" }, { signal: hardStop, timeoutMs: opTimeoutMs });
      if (r.error) throw new Error(r.error.message);
      const ansibleHost = o.ansibleHost(host);
      const data: DriftData = {
        kind: "drift",
        postfixVersion: r.postfixVersion,
        names: { inventory: host, ...(ansibleHost ? { ansibleHost } : {}), hostname: r.hostname, addresses: r.addresses },
        instances: r.instances,
      };
      const broken = r.instances.filter((i) => i.error);
      return {
        status: broken.length ? "failed" : "ok",
        ...(broken.length ? { error: broken.map((i) => `${i.name}: ${i.error}`).join("; ") } : {}),
        results: [],
        data,
      };
    },
  };
}
