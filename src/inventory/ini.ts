// INI inventories as Ansible's ini plugin reads them: [group], [group:vars],
// [group:children], host lines split like a shell (shlex, `#` comments),
// values typed by Python's literal_eval rules, host ranges and host:port.

import { expandHostPattern } from "./address.js";
import { InventoryError } from "./errors.js";
import type { InventoryData } from "./model.js";
import { iniValue } from "./python-literal.js";
import { mentionsSecret } from "./secrets.js";
import { shlexSplit } from "./shlex.js";

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUPNAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

interface Pending {
  line: number;
  state: "vars" | "children";
  name: string;
  parents: string[];
}

export function parseIni(text: string, file: string, inv: InventoryData): void {
  const pending = new Map<string, Pending>();
  let groupname = "ungrouped";
  let state = "hosts";
  const lines = text.split(/\r\n|\n|\r/);
  lines.forEach((raw, idx) => {
    const lineno = idx + 1;
    const at = { file, line: lineno };
    const fail = (msg: string): never => {
      throw new InventoryError(msg, at);
    };
    const line = raw.trim();
    if (!line || line[0] === "#" || line[0] === ";") return;
    // Text quoted in a message, unless the line sets a password (its value must not be echoed).
    const quote = (text: string): string => (mentionsSecret(line) ? "(not shown: the line sets a password)" : `'${text}'`);
    const m = SECTION.exec(line);
    if (m) {
      groupname = m[1]!;
      state = m[2] ?? "hosts";
      if (!["hosts", "children", "vars"].includes(state)) {
        fail(`section [${groupname}:${state}] has unknown type '${state}': use [${groupname}], [${groupname}:vars] or [${groupname}:children]`);
      }
      if (!inv.groups.has(groupname)) {
        if (state === "vars" && !pending.has(groupname)) pending.set(groupname, { line: lineno, state: "vars", name: groupname, parents: [] });
        inv.addGroup(groupname);
      }
      const p = pending.get(groupname);
      if (p && state !== "vars") {
        if (p.state === "children") addPendingChildren(groupname, pending, inv, at);
        else pending.delete(groupname);
      }
      return;
    }
    if (line.startsWith("[") && line.endsWith("]")) {
      fail(`invalid section entry '${line}': a section is [group], [group:vars] or [group:children], with no spaces or other characters`);
    }
    if (state === "hosts") {
      let tokens: string[];
      try {
        tokens = shlexSplit(line);
      } catch (e) {
        return fail(`cannot split host line ${quote(line)}: ${(e as Error).message} (check the quotes)`);
      }
      const pattern = tokens[0];
      if (pattern === undefined) return fail(`empty host definition '${line}'`);
      let expanded: { names: string[]; port?: number };
      try {
        expanded = expandHostPattern(pattern, inv.limits.maxRangeHosts);
      } catch (e) {
        return fail((e as Error).message);
      }
      if (pattern.trim().endsWith(":") && expanded.port === undefined) {
        fail(`invalid host pattern '${pattern}': a trailing ':' must be followed by a port number`);
      }
      if (expanded.names.some((n) => n.trim() === "---")) fail(`invalid host pattern '${pattern}': '---' is a sign this is a YAML file; name it .yml`);
      const vars: [string, unknown][] = [];
      for (const t of tokens.slice(1)) {
        const eq = t.indexOf("=");
        if (eq < 0) fail(`expected key=value host variable assignment, got ${quote(t)}`);
        vars.push([t.slice(0, eq), iniValue(t.slice(eq + 1))]);
      }
      for (const name of expanded.names) {
        const h = inv.addHost(name, at, groupname, expanded.port);
        for (const [k, v] of vars) inv.setHostVar(h, k, v, at);
      }
    } else if (state === "vars") {
      const eq = line.indexOf("=");
      if (eq < 0) fail(`expected key=value in [${groupname}:vars], got ${quote(line)}`);
      const k = line.slice(0, eq).trim();
      const v = line.slice(eq + 1).trim();
      inv.setGroupVar(inv.groups.get(groupname)!, k, iniValue(v), at);
    } else {
      const gm = GROUPNAME.exec(line);
      if (!gm) return fail(`expected a group name in [${groupname}:children], got '${line}'`);
      const child = gm[1]!;
      if (!inv.groups.has(child)) {
        const p = pending.get(child);
        if (!p) pending.set(child, { line: lineno, state: "children", name: child, parents: [groupname] });
        else p.parents.push(groupname);
      } else {
        inv.addChild(groupname, child, at);
      }
    }
  });
  for (const decl of pending.values()) {
    const at = { file, line: decl.line };
    if (decl.state === "vars") {
      throw new InventoryError(`section [${decl.name}:vars] is for group '${decl.name}', which is defined nowhere: add [${decl.name}] with its hosts or remove the section`, at);
    }
    throw new InventoryError(
      `section [${decl.parents[decl.parents.length - 1]}:children] includes undefined group '${decl.name}': add a [${decl.name}] section (it may be empty)`,
      at,
    );
  }
}

/** Attach a group declared earlier as a child, and in turn its pending parents (the same order as a recursion, without one: chains may be long). */
function addPendingChildren(group: string, pending: Map<string, Pending>, inv: InventoryData, at: { file: string; line: number }): void {
  const stack = [{ g: group, parents: pending.get(group)!.parents, i: 0 }];
  const onStack = new Set([group]);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.parents.length) {
      pending.delete(top.g);
      onStack.delete(top.g);
      stack.pop();
      continue;
    }
    const parent = top.parents[top.i++]!;
    inv.addChild(parent, top.g, at);
    const pp = pending.get(parent);
    if (pp && pp.state === "children" && !onStack.has(parent)) {
      onStack.add(parent);
      stack.push({ g: parent, parents: pp.parents, i: 0 });
    }
  }
}
