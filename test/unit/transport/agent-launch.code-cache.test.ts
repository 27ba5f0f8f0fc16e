// The agent bundle's V8 code cache: the trust checks of CODE_CACHE_JS as pure
// functions, and the loader run locally with this machine's Node.js against a private temporary
// $HOME: a cache is used only when it is the agent user's own (owner, mode 0600, not a symlink),
// made for this bundle and whole (its sha256); anything else is ignored, reported and rewritten.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CODE_CACHE_JS, LOADER } from "../../../src/transport/agent-launch.js";

interface Pure {
  ccFile(dir: string, h: string, v: string, arch: string): string;
  ccStatBad(st: { isFile(): boolean; uid: number; mode: number }, uid: number): string;
  ccHeader(h: string, sum: string): string;
  ccParse(b: Buffer, h: string, sha: (b: Buffer) => string): { data?: Buffer; bad?: string };
}
const pure = new Function(`${CODE_CACHE_JS}\nreturn {ccFile:ccFile,ccStatBad:ccStatBad,ccHeader:ccHeader,ccParse:ccParse};`)() as Pure;
const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const H = sha("bundle");

describe("code cache trust checks (pure)", () => {
  const stat = (isFile: boolean, uid: number, mode: number) => ({ isFile: () => isFile, uid, mode });

  it("trusts only a regular file of the agent's own uid that nobody else can read or write", () => {
    expect(pure.ccStatBad(stat(true, 1000, 0o100600), 1000)).toBe("");
    expect(pure.ccStatBad(stat(true, 1000, 0o100400), 1000)).toBe("");
    expect(pure.ccStatBad(stat(false, 1000, 0o040700), 1000)).toBe("not a regular file");
    expect(pure.ccStatBad(stat(true, 1000, 0o100600), 0)).toBe("owned by uid 1000, not by the agent's uid 0");
    expect(pure.ccStatBad(stat(true, 0, 0o100644), 0)).toBe("mode 644, not 600");
    expect(pure.ccStatBad(stat(true, 0, 0o100620), 0)).toBe("mode 620, not 600");
    expect(pure.ccStatBad(stat(true, 0, 0o100606), 0)).toBe("mode 606, not 600");
  });

  it("takes the payload only for this bundle and when its sha256 matches", () => {
    const data = Buffer.from([0, 10, 255, 10, 1]);
    const file = Buffer.concat([Buffer.from(pure.ccHeader(H, sha(data)), "latin1"), data]);
    expect(pure.ccParse(file, H, sha)).toEqual({ data });
    expect(pure.ccParse(file, sha("other bundle"), sha)).toEqual({ bad: "made for another bundle" });
    const tampered = Buffer.from(file);
    tampered[tampered.length - 1] = 2;
    expect(pure.ccParse(tampered, H, sha)).toEqual({ bad: "sha256 does not match" });
    expect(pure.ccParse(Buffer.concat([Buffer.from(`postfleet-v8cache 1 ${H} \n`), data]), H, sha)).toEqual({ bad: "sha256 does not match" });
    expect(pure.ccParse(data, H, sha)).toEqual({ bad: "not a postfleet code cache" });
    expect(pure.ccParse(Buffer.alloc(0), H, sha)).toEqual({ bad: "not a postfleet code cache" });
  });

  it("names the cache after the bundle, the Node.js version and the architecture", () => {
    expect(pure.ccFile("/home/u/.cache/postfleet", H, "18.20.4", "x64")).toBe(`/home/u/.cache/postfleet/agent-${H}.node18.20.4-x64.v8cache`);
  });
});

// A stand-in agent: says what the loader told it about the cache, then has it written (as serve.ts does after its first answer).
const AGENT = `const c=globalThis.__postfleetCodeCache;process.stdout.write(JSON.stringify({state:c.state,reason:c.reason,saved:c.save()})+"\\n");\nfunction more(){return [1,2,3].map(function(x){return x*2;});}\nmore();\n`;

describe("the loader's code cache", () => {
  let home: string;
  let dir: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "postfleet-cc-"));
    chmodSync(home, 0o700);
    dir = join(home, ".cache", "postfleet");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, `agent-${sha(AGENT)}.cjs`), AGENT, { mode: 0o600 });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const run = (extraEnv: Record<string, string> = {}, become = "0", preload: string[] = []) => {
    const out = execFileSync("node", [...preload, "-e", LOADER, sha(AGENT), become, home, "--serve"], { encoding: "utf8", env: { ...process.env, ...extraEnv } });
    return JSON.parse(out.trim().split("\n").pop()!) as { state: string; reason?: string; saved: boolean };
  };
  const cacheFile = () => join(dir, `agent-${sha(AGENT)}.node${process.versions.node}-${process.arch}.v8cache`);

  it("writes the cache (0600, through a rename) when there is none, and compiles with it the next time", () => {
    expect(run()).toEqual({ state: "missing", saved: true });
    expect(statSync(cacheFile()).mode & 0o777).toBe(0o600);
    expect(readFileSync(cacheFile()).subarray(0, 85).toString("latin1")).toBe(`postfleet-v8cache 1 ${sha(AGENT)} `);
    expect(readdirSync(dir).filter((n) => n.includes("v8tmp"))).toEqual([]);
    expect(run()).toEqual({ state: "used", saved: false });
  });

  it("ignores and rewrites a cache that is group/other accessible, another user's, a symlink, tampered or rejected by V8", () => {
    run();
    const good = readFileSync(cacheFile());
    chmodSync(cacheFile(), 0o644);
    expect(run()).toEqual({ state: "rejected", reason: "mode 644, not 600", saved: true });
    expect(statSync(cacheFile()).mode & 0o777).toBe(0o600);
    expect(run().state).toBe("used");

    if (process.getuid!() === 0) {
      chownSync(cacheFile(), 1234, 1234);
      expect(run()).toEqual({ state: "rejected", reason: "owned by uid 1234, not by the agent's uid 0", saved: true });
      expect(statSync(cacheFile()).uid).toBe(0);
    }

    rmSync(cacheFile());
    writeFileSync(join(home, "elsewhere"), good, { mode: 0o600 });
    symlinkSync(join(home, "elsewhere"), cacheFile());
    expect(run()).toEqual({ state: "rejected", reason: "a symlink", saved: true });
    expect(statSync(cacheFile()).isFile() && !readdirSync(dir).includes("elsewhere")).toBe(true);

    const tampered = Buffer.from(good);
    tampered[tampered.length - 1]! ^= 1;
    writeFileSync(cacheFile(), tampered, { mode: 0o600 });
    expect(run()).toEqual({ state: "rejected", reason: "sha256 does not match", saved: true });

    // A well-formed file for this bundle whose payload V8 does not accept (garbage bytecode).
    const junk = Buffer.alloc(64, 7);
    writeFileSync(cacheFile(), Buffer.concat([Buffer.from(`postfleet-v8cache 1 ${sha(AGENT)} ${sha(junk)}\n`), junk]), { mode: 0o600 });
    expect(run()).toEqual({ state: "rejected", reason: "V8 rejected it", saved: true });
    expect(run().state).toBe("used");
  });

  // Needs root (it plays a login user of another uid); CI runs as root, so it runs there.
  it.runIf(process.getuid?.() === 0)("under become keeps the cache in the agent user's own home (from the password database), never in the login user's", () => {
    // The "login user" (uid 1234) owns $HOME and its cache; the agent runs as root, whose home a preload points to a temporary directory.
    const rootHome = mkdtempSync(join(tmpdir(), "postfleet-cc-root-"));
    const preload = join(rootHome, "..", `${rootHome.split("/").pop()}-home.cjs`);
    writeFileSync(preload, `const os=require("os");const u=os.userInfo;os.userInfo=function(o){const r=u(o);r.homedir=${JSON.stringify(rootHome)};return r;};\n`);
    try {
      for (const p of [home, join(home, ".cache"), dir, join(dir, `agent-${sha(AGENT)}.cjs`)]) chownSync(p, 1234, 1234);
      // A cache the login user wrote (valid for this bundle, as that user) is not even looked at.
      writeFileSync(cacheFile(), "planted", { mode: 0o600 });
      chownSync(cacheFile(), 1234, 1234);
      const become = (env = {}) => run({ SUDO_UID: "1234", ...env }, "1", ["-r", preload]);
      expect(become()).toEqual({ state: "missing", saved: true });
      const own = join(rootHome, ".cache", "postfleet", `agent-${sha(AGENT)}.node${process.versions.node}-${process.arch}.v8cache`);
      expect(statSync(own).uid).toBe(0);
      expect(statSync(join(rootHome, ".cache", "postfleet")).mode & 0o777).toBe(0o700);
      expect(readFileSync(cacheFile(), "utf8")).toBe("planted");
      expect(become()).toEqual({ state: "used", saved: false });
      // The agent user's cache directory writable by another: no cache at all (compiled from source).
      chownSync(join(rootHome, ".cache", "postfleet"), 1234, 1234);
      expect(become()).toMatchObject({ state: "off", reason: expect.stringMatching(/postfleet is owned by uid 1234, not by the agent's user \(uid 0\)$/), saved: false });
    } finally {
      rmSync(preload, { force: true });
      rmSync(rootHome, { recursive: true, force: true });
    }
  });
});
