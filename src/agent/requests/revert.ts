// `revert` requests (on_gate_failure: revert): keep one instance's main.cf
// and master.cf byte for byte before a settings change, and put them back
// when a later gate fails. The host's copy lives beside the staged-edit
// mechanism, in CONFIG_DIR/.postfleet-revert/ (0700, files 0600, owned by
// the agent's user: root); the controller keeps its own copy (the bytes are
// in the answer) and sends it back with the restore, so the host's copy is
// only the fallback. A restore goes through the same staged, locked edit as
// a config request: each file that differs is replaced with one rename under
// Postfix's lock of that file, never in part.
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REVERT_FILES, type RevertFile, type RevertRequest, type RevertResponse } from "../../protocol/index.js";
import type { RequestContext } from "../serve/request-context.js";
import { requestInstance, RequestError, toAgentError, unknownInstance } from "./request-instance.js";
import { stagedEdit } from "../postfix/staged-edit.js";

export const REVERT_DIR = ".postfleet-revert";

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** The host's copy: write each file to a temporary name, then rename (a killed agent leaves the old copy whole). */
function keepCopy(dir: string, files: ReadonlyMap<RevertFile, Buffer>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const [f, data] of files) {
    const tmp = join(dir, `.${f}.tmp`);
    writeFileSync(tmp, data, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, join(dir, f));
  }
}

/** The bytes to restore: the request's (controller's copy) for each file, else the host's copy. */
export function restoreSource(given: RevertRequest["files"], dir: string): Map<RevertFile, Buffer> {
  const out = new Map<RevertFile, Buffer>();
  for (const f of REVERT_FILES) {
    const b64 = given?.[f];
    if (typeof b64 === "string") out.set(f, Buffer.from(b64, "base64"));
    else if (existsSync(join(dir, f))) out.set(f, readFileSync(join(dir, f)));
  }
  if (out.size === 0) throw new RequestError(`nothing to restore: no copy was sent and ${dir} holds none`, "usage");
  return out;
}

export async function handleRevert(req: RevertRequest, ctx: RequestContext): Promise<RevertResponse> {
  const answer: RevertResponse = { id: req.id, op: "revert", instance: unknownInstance(req.instance), action: req.action, files: {}, sha256: {}, replaced: [] };
  try {
    if (!["snapshot", "restore", "discard"].includes(req.action)) throw new RequestError("revert action must be snapshot, restore or discard", "usage");
    const ri = await requestInstance(ctx.env, req.instance);
    answer.instance = ri.info;
    const configDir = ri.instance.configDir;
    const dir = join(configDir, REVERT_DIR);
    answer.hostCopy = dir;
    await ctx.withHostLock(`revert ${req.action} ${req.instance}`, async () => {
      if (req.action === "discard") {
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      if (req.action === "snapshot") {
        const files = new Map<RevertFile, Buffer>();
        for (const f of REVERT_FILES) {
          const data = readFileSync(join(configDir, f));
          files.set(f, data);
          answer.files[f] = data.toString("base64");
          answer.sha256[f] = sha256(data);
        }
        keepCopy(dir, files);
        return;
      }
      const want = restoreSource(req.files, dir);
      const replaced = await stagedEdit(
        configDir,
        async (stage) => {
          for (const [f, data] of want) writeFileSync(join(stage, f), data);
        },
        { signal: ctx.signal },
      );
      answer.replaced = REVERT_FILES.filter((f) => replaced.includes(join(configDir, f)));
      for (const f of REVERT_FILES) answer.sha256[f] = sha256(readFileSync(join(configDir, f)));
    });
  } catch (e) {
    answer.error = toAgentError(e);
  }
  return answer;
}
