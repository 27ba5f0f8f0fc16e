// Drive the config, health and service handlers on a lab host before the
// serve loop dispatches them: request-harness-entry.ts bundled with esbuild
// (as scripts/bundle.mjs bundles the agent), copied to the host, fed one
// JSON request per run.
import { build } from "esbuild";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigRequest, ConfigResponse, HealthRequest, HealthResponse, ServiceRequest, ServiceResponse } from "../../../src/protocol/index.js";
import type { TestLabHost } from "../../support/lab.js";
import { sh, shq } from "./support.js";

export const HARNESS = "/opt/postfleet/request-harness.cjs";

let bundled: Promise<string> | undefined;

function bundle(): Promise<string> {
  bundled ??= (async () => {
    const out = join(mkdtempSync(join(tmpdir(), "postfleet-harness-")), "request-harness.cjs");
    await build({
      entryPoints: ["test/integration/agent/request-harness-entry.ts"],
      outfile: out,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node18",
      logLevel: "warning",
    });
    return readFileSync(out, "utf8");
  })();
  return bundled;
}

export async function installHarness(host: TestLabHost): Promise<void> {
  await host.exec("mkdir -p /opt/postfleet");
  await host.container.copyContentToContainer([{ content: await bundle(), target: HARNESS }]);
}

type Extra = { cancelAfterMs?: number };
type Req<T> = Omit<T, "id"> & Extra;

async function call<T>(host: TestLabHost, req: object): Promise<T> {
  const r = await sh(host, `printf '%s' ${shq(JSON.stringify({ id: 1, ...req }))} | node ${HARNESS}`);
  if (r.exitCode !== 0) throw new Error(`harness exit ${r.exitCode}:\n${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as T;
}

export const config = (host: TestLabHost, req: Req<ConfigRequest>) => call<ConfigResponse>(host, req);
export const health = (host: TestLabHost, req: Req<HealthRequest>) => call<HealthResponse>(host, req);
export const service = (host: TestLabHost, req: Req<ServiceRequest>) => call<ServiceResponse>(host, req);
export const systemdDetected = async (host: TestLabHost) => (await call<{ systemd: boolean }>(host, { op: "systemd" })).systemd;
