// Executable inventory scripts (Ansible's dynamic inventory protocol):
// `script --list` prints groups (lists of hosts, or mappings with hosts,
// vars, children) and optionally `_meta.hostvars`; without `_meta` each host
// is asked with `script --host NAME`. Runs with a timeout in its own process
// group (script-process.ts); bad output stops.

import { InventoryError } from "./errors.js";
import type { InventoryData } from "./model.js";
import { runScript, ScriptFailure } from "./script-process.js";
import { findInvalidUtf8 } from "./text.js";
import { jsonDepthOver } from "./yaml-loader.js";

export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;

async function run(path: string, args: string[], timeoutMs: number): Promise<string> {
  const what = `inventory script '${[path, ...args].join(" ")}'`;
  let r;
  try {
    r = await runScript(path, args, { timeoutMs });
  } catch (e) {
    if (!(e instanceof ScriptFailure)) throw e;
    if (e.kind === "timeout") throw new InventoryError(`${what} did not finish within ${timeoutMs / 1000} s: stopped it and everything it started (SIGTERM, then SIGKILL)`, { file: path });
    if (e.kind === "output") throw new InventoryError(`${what} ${e.message}: stopped it; an inventory that large is not supported`, { file: path });
    throw new InventoryError(`cannot run inventory script '${path}': ${e.message}`, { file: path });
  }
  if (r.code !== 0) {
    const firstErr = r.stderr.trim().split("\n").slice(-3).join(" | ");
    const status = r.code !== null ? `exited with status ${r.code}` : `was killed by ${r.signal ?? "a signal"}`;
    throw new InventoryError(`${what} ${status}${firstErr ? `: ${firstErr}` : ""}`, { file: path });
  }
  const bad = findInvalidUtf8(r.stdout);
  if (bad) throw new InventoryError(`${what} printed text that is not valid UTF-8 (byte ${bad.byte} at output line ${bad.line}, column ${bad.column}): it must print UTF-8 JSON`, { file: path });
  return r.stdout.toString("utf8");
}

function parseJson(text: string, path: string, what: string, maxDepth: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    // V8 quotes the start of the text ("... is not valid JSON"): it may hold secrets (hostvars), so drop it.
    const msg = (e as Error).message.replace(/, ".*" is not valid JSON$/s, " (not valid JSON)");
    const pos = /position (\d+)/.exec(msg);
    let where = "";
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      where = ` (output line ${before.split("\n").length})`;
    }
    throw new InventoryError(`inventory script '${path} ${what}' printed invalid JSON${where}: ${msg}; it must print one JSON object`, { file: path });
  }
  if (jsonDepthOver(value, maxDepth)) throw new InventoryError(`inventory script '${path} ${what}' printed JSON nested more than ${maxDepth} levels deep: postfleet stops here`, { file: path });
  return value;
}

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export async function parseScript(path: string, inv: InventoryData, timeoutMs = DEFAULT_SCRIPT_TIMEOUT_MS): Promise<void> {
  const out = await run(path, ["--list"], timeoutMs);
  const data = parseJson(out, path, "--list", inv.limits.maxValueDepth);
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
      vars = o.trim() === "" ? {} : parseJson(o, path, `--host ${h}`, inv.limits.maxValueDepth);
    } else {
      if (!isDict(meta)) throw new InventoryError(`inventory script '${path}': _meta.hostvars must be a JSON object`, at);
      vars = meta[h] ?? {};
    }
    if (!isDict(vars)) throw new InventoryError(`inventory script '${path}': variables of host '${h}' must be a JSON object`, at);
    const host = inv.hosts.get(h)!;
    for (const [k, v] of Object.entries(vars)) inv.setHostVar(host, k, v, at);
  }
}
