// The agent loader run locally with this machine's Node.js against a private
// temporary $HOME: it answers "upload needed" or "refused" without running
// anything, and otherwise runs exactly the bytes it hashed, with the agent's argv.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOADER, launchArgv, parseLoaderLine } from "../../../src/transport/agent-launch.js";
import { buildCommand, LOGIN_HOME } from "../../../src/transport/shell.js";

const AGENT = `process.stdout.write("agent ran with " + JSON.stringify(process.argv.slice(2)) + " as " + JSON.stringify(process.argv[1]) + "\\n");\n`;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

function loader(home: string, hash: string, args: string[] = ["--serve"]): string[] {
  return execFileSync("node", ["-e", LOADER, hash, "0", home, ...args], { encoding: "utf8" }).trim().split("\n");
}

describe("agent loader", () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "postfleet-loader-"));
    chmodSync(home, 0o700);
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("creates the private cache and asks for an upload when the file is missing", () => {
    const [line] = loader(home, sha(AGENT));
    expect(parseLoaderLine(line!)).toMatchObject({ status: "upload-needed", reason: "missing", path: `${home}/.cache/postfleet/agent-${sha(AGENT)}.cjs` });
    expect(execFileSync("stat", ["-c", "%a", join(home, ".cache", "postfleet")], { encoding: "utf8" }).trim()).toBe("700");
  });

  it("another run creating the cache at the same moment (mkdir: EEXIST) is no failure; the directories are checked all the same", () => {
    // A preload makes every mkdirSync find its directory just created by someone else, as two controllers starting at once do.
    const race = join(home, "..", `race-${Date.now()}.cjs`);
    writeFileSync(race, `const fs=require("fs");const mk=fs.mkdirSync;fs.mkdirSync=function(p,m){mk(p,m);return mk(p,m);};\n`);
    try {
      const out = execFileSync("node", ["-r", race, "-e", LOADER, sha(AGENT), "0", home, "--serve"], { encoding: "utf8" }).trim().split("\n");
      expect(parseLoaderLine(out[0]!)).toMatchObject({ status: "upload-needed", reason: "missing" });
      // Created by "someone else" with group/other write: refused, not used.
      rmSync(join(home, ".cache"), { recursive: true });
      writeFileSync(race, `const fs=require("fs");const mk=fs.mkdirSync;fs.mkdirSync=function(p,m){mk(p,0o777);fs.chmodSync(p,0o777);return mk(p,m);};\n`);
      const refused = execFileSync("node", ["-r", race, "-e", LOADER, sha(AGENT), "0", home, "--serve"], { encoding: "utf8" }).trim().split("\n");
      expect(parseLoaderLine(refused[0]!)).toMatchObject({ status: "refused", reason: expect.stringMatching(/writable by group or others/) });
    } finally {
      rmSync(race, { force: true });
    }
  });

  it("runs the verified bytes as a CommonJS module with the agent's argv, after a verified line", () => {
    const path = join(home, ".cache", "postfleet", `agent-${sha(AGENT)}.cjs`);
    mkdirSync(join(home, ".cache", "postfleet"), { recursive: true, mode: 0o700 });
    writeFileSync(path, AGENT, { mode: 0o600 });
    const [verified, ran] = loader(home, sha(AGENT), ["--serve", "x y"]);
    expect(parseLoaderLine(verified!)).toMatchObject({ status: "verified", path, node: process.versions.node, nodePath: process.execPath });
    expect(ran).toBe(`agent ran with ["--serve","x y"] as ${JSON.stringify(path)}`);
  });

  it("never runs a file whose bytes do not match, nor a symlink", () => {
    const dir = join(home, ".cache", "postfleet");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `agent-${sha(AGENT)}.cjs`);
    writeFileSync(path, `${AGENT}// evil\n`, { mode: 0o600 });
    const out = loader(home, sha(AGENT));
    expect(out).toHaveLength(1);
    expect(parseLoaderLine(out[0]!)).toMatchObject({ status: "upload-needed", reason: "mismatch", actual: sha(`${AGENT}// evil\n`) });
    rmSync(path);
    writeFileSync(join(home, "elsewhere.cjs"), AGENT);
    symlinkSync(join(home, "elsewhere.cjs"), path);
    expect(parseLoaderLine(loader(home, sha(AGENT))[0]!)).toMatchObject({ status: "upload-needed", reason: "symlink" });
  });

  it("refuses a cache or parent writable by group or others, or a cache that is a symlink", () => {
    mkdirSync(join(home, ".cache"), { mode: 0o700 });
    chmodSync(join(home, ".cache"), 0o777);
    expect(parseLoaderLine(loader(home, sha(AGENT))[0]!)).toMatchObject({ status: "refused", reason: `${home}/.cache is writable by group or others (mode 777)` });
    chmodSync(join(home, ".cache"), 0o700);
    chmodSync(home, 0o775);
    expect(parseLoaderLine(loader(home, sha(AGENT))[0]!)).toMatchObject({ status: "refused", reason: `${home} is writable by group or others (mode 775)` });
    chmodSync(home, 0o700);
    mkdirSync(join(home, "other"));
    symlinkSync(join(home, "other"), join(home, ".cache", "postfleet"));
    expect(parseLoaderLine(loader(home, sha(AGENT))[0]!)).toMatchObject({ status: "refused", reason: `${home}/.cache/postfleet exists and is not a directory` });
  });

  it("is one sh command: Node.js found by name, $HOME left to the login shell, everything else quoted", () => {
    const argv = launchArgv({ sha256: sha(AGENT), become: false, agentArgs: ["--serve"] });
    const line = buildCommand(argv);
    expect(line).toContain(' "$HOME" --serve');
    expect(argv).toContain(LOGIN_HOME);
    const dir = join(home, ".cache", "postfleet");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, `agent-${sha(AGENT)}.cjs`), AGENT, { mode: 0o600 });
    const out = execFileSync("sh", ["-c", line], { encoding: "utf8", env: { ...process.env, HOME: home } }).trim().split("\n");
    expect(out[1]).toBe(`agent ran with ["--serve"] as ${JSON.stringify(join(dir, `agent-${sha(AGENT)}.cjs`))}`);
    const none = buildCommand(launchArgv({ sha256: sha(AGENT), become: false, agentArgs: ["--serve"], nodePath: "/nonexistent/node" }));
    expect(parseLoaderLine(execFileSync("sh", ["-c", none], { encoding: "utf8", env: { ...process.env, HOME: home } }).trim())).toEqual({ status: "node-missing" });
  });
});
