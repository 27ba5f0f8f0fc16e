// The V8 code cache of the agent bundle on a real lab host: the first fresh
// start writes it after its first answer, the second compiles with it; a cache file with the
// wrong owner, mode or hash is not used (the hello says why), the agent still answers, and the
// file is rewritten. Under become the root agent uses root's own cache, never the login user's.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openHost, type HostSession } from "../../../src/transport/index.js";
import { startLab, type Lab } from "../../support/lab.js";
import { isolated, labTarget } from "../../support/transport.js";

const BUNDLE = resolve("dist/agent.cjs");
const OPS_CACHE = "/home/ops/.cache/postfleet";
const ROOT_CACHE = "/root/.cache/postfleet";

describe("the agent's code cache on a lab host", () => {
  let lab: Lab;
  const sessions: HostSession[] = [];
  beforeAll(async () => {
    expect(existsSync(BUNDLE), "run `npm run bundle` first").toBe(true);
    lab = await startLab(1, { user: "ops" });
  }, 300_000);
  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await lab?.stop();
  });

  /** One fresh start (a new session, no resident agent): the hello's code cache fields, after one answered request. */
  async function start(become = false) {
    const s = await openHost(labTarget(lab, 0, { become }), { ...isolated, connectTimeoutMs: 60_000 });
    sessions.push(s);
    // The machine running the tests may be loaded: a slow Node.js start is not what this test is about.
    const agent = await s.startAgent(BUNDLE, { helloTimeoutMs: 120_000 });
    try {
      const facts = await agent.request({ op: "facts" });
      expect(facts.postfixVersion).toMatch(/^3\.7\./);
      return { state: agent.hello.codeCache, reason: agent.hello.codeCacheReason, uid: agent.hello.uid };
    } finally {
      await agent.close();
      await s.close();
    }
  }
  const sh = async (cmd: string) => (await lab.hosts[0]!.exec(cmd)).stdout.trim();
  const cacheFile = async (dir: string) => sh(`ls ${dir}/agent-*.v8cache 2>/dev/null`);

  it("is written by the first start and used by the second; wrong owner, mode or hash is ignored and rewritten", async () => {
    expect(await start()).toMatchObject({ state: "missing" });
    const file = await cacheFile(OPS_CACHE);
    expect(file).toMatch(/\/agent-[0-9a-f]{64}\.node18\.[0-9.]+-x64\.v8cache$/);
    expect(await sh(`stat -c '%a %U' ${file}`)).toBe("600 ops");
    expect(await start()).toEqual({ state: "used", reason: undefined, uid: expect.any(Number) });

    await sh(`chmod 644 ${file}`);
    expect(await start()).toMatchObject({ state: "rejected", reason: "mode 644, not 600" });
    expect(await sh(`stat -c '%a %U' ${file}`)).toBe("600 ops");
    expect(await start()).toMatchObject({ state: "used" });

    await sh(`chown root ${file}`);
    expect(await start()).toMatchObject({ state: "rejected", reason: "not readable by the agent's user" });
    expect(await sh(`stat -c '%a %U' ${file}`)).toBe("600 ops");
    await sh(`chmod 644 ${file} && chown root ${file}`);
    expect(await start()).toMatchObject({ state: "rejected", reason: expect.stringMatching(/^owned by uid 0, not by the agent's uid \d+$/) });
    expect(await sh(`stat -c '%a %U' ${file}`)).toBe("600 ops");

    // One byte of V8's data changed (past the header line): the payload's sha256 no longer matches.
    await sh(`printf 'X' | dd of=${file} bs=1 seek=2000 conv=notrunc 2>/dev/null`);
    expect(await start()).toMatchObject({ state: "rejected", reason: "sha256 does not match" });
    expect(await start()).toMatchObject({ state: "used" });
  }, 300_000);

  it("under become the root agent keeps its own cache in root's home and never reads the login user's", async () => {
    const loginCache = await cacheFile(OPS_CACHE);
    expect(loginCache).not.toBe("");
    await sh(`rm -rf ${ROOT_CACHE}`);
    // The login user's cache is valid for this bundle, yet root's agent does not take it.
    expect(await start(true)).toMatchObject({ state: "missing", uid: 0 });
    const rootFile = await cacheFile(ROOT_CACHE);
    expect(rootFile).toMatch(/^\/root\/\.cache\/postfleet\/agent-[0-9a-f]{64}\..*\.v8cache$/);
    expect(await sh(`stat -c '%a %U' ${rootFile} ${ROOT_CACHE}`)).toBe("600 root\n700 root");
    expect(await start(true)).toMatchObject({ state: "used", uid: 0 });
    // A root cache directory the login user could write is refused: the agent runs from source.
    await sh(`chown ops ${ROOT_CACHE}`);
    expect(await start(true)).toMatchObject({ state: "off", reason: expect.stringMatching(/is owned by uid \d+, not by the agent's user \(uid 0\)/) });
  }, 300_000);
});
