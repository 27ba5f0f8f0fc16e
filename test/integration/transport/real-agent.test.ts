// The transport with the real agent bundle (dist/agent.cjs from `npm run
// bundle`): pushed once per host, run in its --serve mode, driving the real
// postmulti life cycle; hostile instance names reach postmulti verbatim.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../../../src/protocol/index.js";
import { openHost, type HostSession } from "../../../src/transport/index.js";
import { startLab, type Lab } from "../../support/lab.js";
import { isolated, labTarget } from "../../support/transport.js";

const BUNDLE = resolve("dist/agent.cjs");

describe("transport with the real agent", () => {
  let lab: Lab;
  const sessions: HostSession[] = [];
  beforeAll(async () => {
    expect(existsSync(BUNDLE), "run `npm run bundle` first (npm run test:integration does)").toBe(true);
    lab = await startLab(2, { user: "ops" });
  });
  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await lab?.stop();
  });

  it("pushes the bundle once per host and drives postmulti through sudo on both hosts in parallel", async () => {
    await Promise.all(
      lab.hosts.map(async (h, i) => {
        const s = await openHost(labTarget(lab, i, { become: true }), isolated);
        sessions.push(s);
        const first = await s.startAgent(BUNDLE);
        expect(s.agentOnHost!.uploaded).toBe(true);
        await first.close();
        const agent = await s.startAgent(BUNDLE);
        expect(s.agentOnHost!.uploaded).toBe(false);
        try {
          expect(agent.hello).toMatchObject({ op: "hello", protocol: PROTOCOL_VERSION, uid: 0 });
          const init = await agent.request({ op: "postmulti", args: ["-e", "init"] });
          expect(init.exitCode).toBe(0);
          const created = await agent.request({ op: "postmulti", args: ["-I", "postfix-out", "-G", "mta", "-e", "create"] });
          expect(created.exitCode).toBe(0);
          const facts = await agent.request({ op: "facts" });
          expect(facts.postfixVersion).toMatch(/^3\.7\./);
          expect(facts.instances.map((x) => x.name)).toEqual(["-", "postfix-out"]);

          const hostile = "postfix-x;touch /tmp/pwned;$(touch /tmp/pwned2)`touch /tmp/pwned3`";
          const r = await agent.request({ op: "postmulti", args: ["-i", hostile, "-p", "status"] });
          expect(r.exitCode).not.toBe(0);
          expect(r.error?.message).toBe("No matching instances");
          const weird = ["a;touch /tmp/pwned4", "$(touch /tmp/pwned5)", "it's \"quoted\"", "two  spaces", "line1\nline2"];
          const x = await agent.request({ op: "postmulti", args: ["-i", "-", "-x", "printf", "%s\\0", ...weird] });
          expect(x.exitCode).toBe(0);
          expect(x.results[0]!.stdout.split("\0").slice(0, -1)).toEqual(weird);
          expect((await h.exec("ls /tmp/pwned* 2>/dev/null | wc -l")).stdout.trim()).toBe("0");
          // The real postmulti agrees that the instance list is what the agent saw.
          expect((await h.exec("postmulti -l")).stdout).toMatch(/^postfix-out\s+mta\s+n\s+\/etc\/postfix-out$/m);
        } finally {
          await agent.close();
        }
      }),
    );
    // A fresh session (a new run) finds the agent in place.
    const again = await openHost(labTarget(lab, 0, { become: true }), isolated);
    sessions.push(again);
    await (await again.startAgent(BUNDLE)).close();
    expect(again.agentOnHost!.uploaded).toBe(false);
  });
});
