// A real headless Chromium (Debian's `chromium` package) driven over the
// DevTools protocol on a pipe (--remote-debugging-pipe: NUL-terminated JSON
// on fds 3 and 4), so HTML pages are checked in a browser, without a
// dependency. Installed with apt-get when missing (as root), like Ansible in
// ansible-setup.ts.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";

/** Install Debian's chromium when it is not there (needs root and apt-get). */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) throw new Error("the HTML tests need Chromium: install it (apt-get install chromium) and run again");
  process.stderr.write("postfleet-test: installing Debian's chromium package with apt-get (once)\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: ["ignore", "ignore", "inherit"], env });
}

export interface Page {
  /** Evaluate an expression in the page; its value (JSON-able). */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Type text into the focused element, as a keyboard would (input events). */
  insertText(text: string): Promise<void>;
}

export interface Browser {
  open(file: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), "postfleet-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    `--user-data-dir=${profile}`,
    "--remote-debugging-pipe",
    "about:blank",
  ];
  const proc: ChildProcess = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const toBrowser = proc.stdio[3] as Writable;
  const fromBrowser = proc.stdio[4] as Readable;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let buf = Buffer.alloc(0);
  fromBrowser.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    let nul: number;
    while ((nul = buf.indexOf(0)) >= 0) {
      const msg = JSON.parse(buf.subarray(0, nul).toString("utf8"));
      buf = buf.subarray(nul + 1);
      const w = msg.id !== undefined ? waiting.get(msg.id) : undefined;
      if (!w) continue;
      waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(`CDP: ${msg.error.message}`));
      else w.resolve(msg.result);
    }
  });
  proc.on("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`chromium exited (${code}): ${stderr}`));
    waiting.clear();
  });
  const send = (method: string, params: object = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
    });

  return {
    async open(file) {
      const url = pathToFileURL(file).href;
      const { targetId } = await send("Target.createTarget", { url });
      const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
        return r.result.value as T;
      };
      // The new tab starts on about:blank (already "complete"): wait for the page itself.
      const loaded = `location.href === ${JSON.stringify(url)} && document.readyState === "complete"`;
      // (An evaluation that meets the navigation fails: try again.)
      for (let i = 0; !(await evaluate<boolean>(loaded).catch(() => false)); i++) {
        if (i >= 300) throw new Error(`chromium did not load ${url} within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return { evaluate, insertText: async (text) => void (await send("Input.insertText", { text }, sessionId)) };
    },
    async close() {
      await send("Browser.close").catch(() => undefined);
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
