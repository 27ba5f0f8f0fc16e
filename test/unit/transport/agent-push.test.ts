// The upload script (agent-push.ts) run locally with sh against a private
// temporary $HOME: two runs creating ~/.cache/postfleet at the same moment
// both succeed, and a directory made unsafe by the other party is refused.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UPLOAD_SCRIPT } from "../../../src/transport/agent-push.js";

const BUNDLE = "console.log('agent');\n";
const sha = createHash("sha256").update(BUNDLE).digest("hex");

describe("agent upload script", () => {
  let root: string;
  let home: string;
  let shims: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "postfleet-upload-"));
    home = join(root, "home");
    shims = join(root, "bin");
    execFileSync("mkdir", ["-m", "700", home, shims]);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** mkdir that finds its directory just made by someone else (made, then made again: "File exists"), with `mode` for theirs. */
  const racingMkdir = (mode: string) => {
    const real = execFileSync("sh", ["-c", "command -v mkdir"], { encoding: "utf8" }).trim();
    writeFileSync(join(shims, "mkdir"), `#!/bin/sh\nfor a in "$@"; do d=$a; done\n${real} -m ${mode} "$d" 2>/dev/null; chmod ${mode} "$d"\nexec ${real} "$@"\n`);
    chmodSync(join(shims, "mkdir"), 0o755);
  };
  const upload = () => spawnSync("sh", ["-c", UPLOAD_SCRIPT, "sh", sha, ""], { input: BUNDLE, encoding: "utf8", env: { HOME: home, PATH: `${shims}:/usr/bin:/bin` } });

  it("succeeds when another run creates the directories at the same moment", () => {
    racingMkdir("700");
    const r = upload();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const f = join(home, ".cache", "postfleet", `agent-${sha}.cjs`);
    expect(r.stdout.trim()).toBe(f);
    expect(readFileSync(f, "utf8")).toBe(BUNDLE);
    expect(statSync(join(home, ".cache", "postfleet")).mode & 0o777).toBe(0o700);
  });

  it("still refuses a directory the other party left writable by others", () => {
    racingMkdir("777");
    const r = upload();
    expect(r.status).toBe(22);
    expect(r.stderr).toMatch(/\.cache is writable by group or others/);
  });
});
