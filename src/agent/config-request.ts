// `config` requests (protocol 2): read and set one instance's main.cf and master.cf.
import type { ConfigRequest, ConfigResponse } from "../protocol/index.js";
import type { RequestContext } from "./request-context.js";

export async function handleConfig(req: ConfigRequest, _ctx: RequestContext): Promise<ConfigResponse> {
  return {
    id: req.id,
    op: "config",
    instance: { name: req.instance, group: "-", enabled: false, configDirectory: "", primary: false },
    dryRun: req.dryRun === true,
    changed: false,
    changes: [],
    error: { message: "config requests are not implemented yet", code: "internal" },
  };
}
