// Executable inventory scripts (Ansible's dynamic inventory protocol):
// `script --list` prints groups (lists of hosts, or mappings with hosts,
// vars, children) and optionally `_meta.hostvars`; without `_meta` each host
// is asked with `script --host NAME`. Runs with a timeout; bad output stops.

import { execFile } from "node:child_process";
import { InventoryError } from "./errors.js";
import type { InventoryData } from "./model.js";

export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;

function run(path: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        const firstErr = String(stderr).trim().split("\n").slice(-3).join(" | ");
        if (e.killed) reject(new InventoryError(`inventory script '${path} ${args.join(" ")}' did not finish within ${timeoutMs / 1000} s`, { file: path }));
        else if (typeof e.code === "number") reject(new InventoryError(`inventory script '${path} ${args.join(" ")}' exited with status ${e.code}${firstErr ? `: ${firstErr}` : ""}`, { file: path }));
        else reject(new InventoryError(`cannot run inventory script '${path}': ${e.message}`, { file: path }));
        return;
      }
      resolve(stdout);
    });
  });
}

function parseJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = "";
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      where = ` (output line ${before.split("\n").length})`;
    }
    throw new InventoryError(`inventory script '${path} ${what}' printed invalid JSON${where}: ${msg}; it must print one JSON object`, { file: path });
  }
}

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export async function parseScript(path: string, inv: InventoryData, timeoutMs = DEFAULT_SCRIPT_TIMEOUT_MS): Promise<void> {
  const out = await run(path, ["--list"], timeoutMs);
  const data = parseJson(out, path, "--list");
  const at = { file: path };
  if (!isDict(data)) throw new InventoryError(`inventory script '${path} --list' must print a JSON object of groups`, at);
  let meta: unknown;
  const hostsSeen = new Set<string>();
  const order: string[] = [];
  for (const [groupName, raw] of Object.entries(data)) {
    if (groupName === "_meta") {
      if (isDict(raw) && "hostvars" in raw) meta = raw["hostvars"];
      continue;
    }
    inv.addGroup(groupName);
    let gdata: Record<string, unknown>;
    if (!isDict(raw)) gdata = { hosts: raw };
    else if (!("hosts" in raw) && !("vars" in raw) && !("children" in raw)) gdata = { hosts: [groupName], vars: raw };
    else gdata = raw;
    if ("hosts" in gdata) {
      if (!Array.isArray(gdata["hosts"])) throw new InventoryError(`group '${groupName}' from inventory script '${path}' has bad data for its host list: expected a JSON array`, at);
      for (const h of gdata["hosts"]) {
        if (typeof h !== "string") throw new InventoryError(`group '${groupName}' from inventory script '${path}' lists a host that is not a string: ${JSON.stringify(h)}`, at);
        if (!hostsSeen.has(h)) {
          hostsSeen.add(h);
          order.push(h);
        }
        inv.addHost(h, at, groupName);
      }
    }
    if ("vars" in gdata) {
      if (!isDict(gdata["vars"])) throw new InventoryError(`group '${groupName}' from inventory script '${path}' has bad data for its variables: expected a JSON object`, at);
      for (const [k, v] of Object.entries(gdata["vars"])) inv.setGroupVar(inv.groups.get(groupName)!, k, v, at);
    }
    if ("children" in gdata) {
      const kids = gdata["children"];
      if (!Array.isArray(kids)) throw new InventoryError(`group '${groupName}' from inventory script '${path}' has bad data for its children: expected a JSON array`, at);
      for (const c of kids) {
        inv.addGroup(String(c));
        inv.addChild(groupName, String(c), at);
      }
    }
  }
  for (const h of order) {
    let vars: unknown;
    if (meta === undefined) {
      const o = await run(path, ["--host", h], timeoutMs);
      vars = o.trim() === "" ? {} : parseJson(o, path, `--host ${h}`);
    } else {
      if (!isDict(meta)) throw new InventoryError(`inventory script '${path}': _meta.hostvars must be a JSON object`, at);
      vars = meta[h] ?? {};
    }
    if (!isDict(vars)) throw new InventoryError(`inventory script '${path}': variables of host '${h}' must be a JSON object`, at);
    const host = inv.hosts.get(h)!;
    for (const [k, v] of Object.entries(vars)) inv.setHostVar(host, k, v, at);
  }
}
