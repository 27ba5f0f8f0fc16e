// Set-up states as images. Most scenarios start from the same Postfix set-up
// (`postmulti -e init`, then postfix-out and postfix-in created in group mta),
// which costs about ten seconds of postmulti-script per side and is the same
// on both sides (set-up always runs the real postmulti). It is made once per
// lab image, committed as an image, and the twins of every scenario that
// begins with it start from that image. Only commands whose effects are
// files alone are cached: a committed image carries no running process.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `postmulti -e init` and `postmulti [-I NAME] [-G GROUP] -e create`, no other argument: files only. */
const FILE_ONLY = /^postmulti (?:-I [\w.-]+ )?(?:-G [\w.-]+ )?-e (?:init|create)$/;

/** The longest leading part of a set-up that can come from an image, and what is left to run. */
export function splitSetup(setup: readonly string[]): { cached: string[]; rest: string[] } {
  let n = 0;
  while (n < setup.length && FILE_ONLY.test(setup[n]!)) n++;
  return { cached: setup.slice(0, n), rest: setup.slice(n) };
}

/** The image tag of a set-up state: derived from the lab image and the commands, so never stale. */
export function setupImageTag(labImage: string, cached: readonly string[]): string {
  const h = createHash("sha256").update(labImage).update("\0").update(cached.join("\n")).digest("hex");
  return `postfleet-compat-setup:${h.slice(0, 16)}`;
}

const made = new Map<string, Promise<string>>();

/**
 * The image with `cached` applied to `labImage` (made now, or found from an
 * earlier run on this machine); `prepare` starts a container from the lab
 * image, runs the commands and returns its id. Concurrent callers share one build.
 */
export function setupImage(labImage: string, cached: readonly string[], prepare: () => Promise<{ id: string; stop(): Promise<void> }>): Promise<string> {
  if (cached.length === 0) return Promise.resolve(labImage);
  const tag = setupImageTag(labImage, cached);
  let p = made.get(tag);
  if (!p) {
    p = (async () => {
      const found = await run("docker", ["image", "inspect", "--format", "{{.Id}}", tag]).then(
        () => true,
        () => false,
      );
      if (found) return tag;
      const c = await prepare();
      try {
        await run("docker", ["commit", c.id, tag]);
      } finally {
        await c.stop();
      }
      return tag;
    })();
    made.set(tag, p);
    p.catch(() => made.delete(tag));
  }
  return p;
}
