// config newInstance: what is decided before any postconf runs (the request's
// shape), and how the simulated directory reads as the instance's own. The
// simulation itself is compared with real postmulti in
// test/integration/agent/config-new-instance.test.ts.
import { describe, expect, it } from "vitest";
import { handleConfig } from "../../../../src/agent/requests/config.js";
import { asInstanceMain, type ConfigTarget } from "../../../../src/agent/postmulti/new-instance.js";
import type { RequestContext } from "../../../../src/agent/serve/request-context.js";
import type { ConfigRequest } from "../../../../src/protocol/index.js";

/** A context whose every use fails the test: these requests must be refused before touching the host. */
const untouchable: RequestContext = {
  get env(): never {
    throw new Error("the host was consulted");
  },
  signal: new AbortController().signal,
  lockTimeoutMs: 0,
  withHostLock: () => {
    throw new Error("the host lock was taken");
  },
};

const req = (o: Partial<ConfigRequest>): ConfigRequest => ({ id: 7, op: "config", instance: "postfix-out", ...o });

describe("config newInstance", () => {
  it("is for dry runs only: a real run must create the instance first", async () => {
    const r = await handleConfig(req({ newInstance: { group: "mta" }, set: { main: { relayhost: "[hub]" } } }), untouchable);
    expect(r).toMatchObject({ id: 7, op: "config", dryRun: false, changed: false, changes: [] });
    expect(r.error).toEqual({ code: "usage", message: "newInstance is for dry runs only: create the instance first (postmulti -e create)" });
    expect(r.instance).toEqual({ name: "postfix-out", group: "-", enabled: false, configDirectory: "", primary: false });
  });

  it("must be an object", async () => {
    const r = await handleConfig(req({ dryRun: true, newInstance: "mta" as unknown as { group?: string } }), untouchable);
    expect(r.error).toEqual({ code: "usage", message: "newInstance must be an object ({ group? })" });
  });

  it("the simulated main.cf reads as the instance's own: postconf -c shows the temporary directory as config_directory", () => {
    const sim: ConfigTarget = {
      ri: {} as ConfigTarget["ri"],
      simulated: { dir: "/tmp/postfleet-new-instance-abc", configDir: "/etc/postfix-out" },
      dispose: () => {},
    };
    const main = new Map([
      ["config_directory", "/tmp/postfleet-new-instance-abc"],
      ["queue_directory", "/var/spool/postfix-out"],
    ]);
    expect([...asInstanceMain(sim, main)]).toEqual([
      ["config_directory", "/etc/postfix-out"],
      ["queue_directory", "/var/spool/postfix-out"],
    ]);
    // An instance on the host is read as it is.
    const onHost: ConfigTarget = { ri: {} as ConfigTarget["ri"], dispose: () => {} };
    expect(asInstanceMain(onHost, new Map([["config_directory", "/etc/postfix-in"]])).get("config_directory")).toBe("/etc/postfix-in");
  });
});
