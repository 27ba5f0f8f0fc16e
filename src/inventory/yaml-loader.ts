// YAML as Ansible (PyYAML, YAML 1.1) reads it: yes/no/on/off booleans (not
// y/n), floats only with a dot, octal 0777, sexagesimal, merge keys `<<`,
// duplicate keys (last wins), `!vault` and `!unsafe` tags. JSON is tried
// first, as Ansible's loader does. Mapping keys keep their line numbers for
// error messages.

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node, type Document, type ScalarTag, type Tags } from "yaml";
import { InventoryError } from "./errors.js";
import { count as fmt, DEFAULT_LIMITS, type InventoryLimits } from "./limits.js";
import { mentionsSecret } from "./secrets.js";
import { UnsafeText, VaultedString } from "./vault.js";

export interface KeyInfo {
  line?: number;
  /** False when the YAML key was not a string (a number, a boolean, ...). */
  isString: boolean;
}

export interface LoadedData {
  value: unknown;
  /** Per mapping object: line and type of each key. */
  keys: WeakMap<object, Map<string, KeyInfo>>;
  /** Line of a sequence/mapping/scalar value node, when known. */
  lines: WeakMap<object, number>;
}

const PY_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const PY_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?)$/;

const vaultTag: ScalarTag = { tag: "!vault", resolve: (s: string) => new VaultedString(s) as unknown as string };
const vaultTagOld: ScalarTag = { tag: "!vault-encrypted", resolve: (s: string) => new VaultedString(s) as unknown as string };
const unsafeTag: ScalarTag = { tag: "!unsafe", resolve: (s: string) => new UnsafeText(s) as unknown as string };

function pythonTags(tags: Tags): Tags {
  const keep = tags.filter((t) => {
    const tag = (t as ScalarTag).tag;
    // PyYAML's decimal ints have no leading zero (08 is a string).
    if (tag === "tag:yaml.org,2002:int" && !(t as ScalarTag).format) return false;
    return tag !== "tag:yaml.org,2002:bool" && !(tag === "tag:yaml.org,2002:float" && (t as ScalarTag).format === "EXP") && !(tag === "tag:yaml.org,2002:float" && !(t as ScalarTag).format && String((t as ScalarTag).test).includes("\\."));
  });
  const bool: ScalarTag[] = [
    { tag: "tag:yaml.org,2002:bool", default: true, identify: (v) => v === true, test: PY_TRUE, resolve: () => true },
    { tag: "tag:yaml.org,2002:bool", default: true, identify: (v) => v === false, test: PY_FALSE, resolve: () => false },
  ];
  const float: ScalarTag = {
    tag: "tag:yaml.org,2002:float",
    default: true,
    identify: (v) => typeof v === "number",
    test: PY_FLOAT,
    resolve: (s: string) => parseFloat(s.replace(/_/g, "")),
  };
  const decimal: ScalarTag = {
    tag: "tag:yaml.org,2002:int",
    default: true,
    identify: (v) => typeof v === "number" && Number.isInteger(v),
    test: /^[-+]?(?:0|[1-9][0-9_]*)$/,
    resolve: (s: string) => parseInt(s.replace(/_/g, ""), 10),
  };
  return [...bool, float, decimal, ...keep, vaultTag, vaultTagOld, unsafeTag];
}

/** Nesting depth of a JSON value, walked without recursion; stops counting past `max`. */
export function jsonDepthOver(value: unknown, max: number): boolean {
  const todo: [unknown, number][] = [[value, 1]];
  while (todo.length) {
    const [v, d] = todo.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d > max) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) if (x !== null && typeof x === "object") todo.push([x, d + 1]);
  }
  return false;
}

interface Converted {
  value: unknown;
  /** Values in it once every alias is expanded (what a walk over it visits). */
  size: number;
  /** Levels of lists/mappings in it. */
  height: number;
}

/**
 * Parse YAML (or JSON) text the way Ansible's loader does. An alias is the
 * anchored value itself, converted once and shared (as PyYAML does), so
 * memory stays the size of the text; the expanded size (what a walk or
 * `--list` visits) is counted and capped by limits.maxYamlValues, the
 * nesting by limits.maxValueDepth.
 */
export function loadYaml(text: string, file: string, limits: InventoryLimits = DEFAULT_LIMITS): LoadedData {
  const keys = new WeakMap<object, Map<string, KeyInfo>>();
  const lines = new WeakMap<object, number>();
  const t = text.trimStart();
  if (t.startsWith("{") || t.startsWith("[")) {
    let value: unknown;
    let parsed = false;
    try {
      value = JSON.parse(text) as unknown;
      parsed = true;
    } catch {
      // not JSON: read it as YAML below
    }
    if (parsed) {
      if (jsonDepthOver(value, limits.maxValueDepth)) throw new InventoryError(`JSON values nested more than ${limits.maxValueDepth} levels deep: postfleet stops here (flatten the data)`, { file, line: 1 });
      return { value, keys, lines };
    }
  }
  if (text.length > limits.maxYamlChars) {
    throw new InventoryError(
      `YAML text over ${fmt(limits.maxYamlChars / 1024 / 1024)} MB: postfleet's YAML reader would need gigabytes for it; write it as JSON (ansible-inventory --list), split it, or use an inventory script`,
      { file, line: 1 },
    );
  }
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, {
    version: "1.1",
    uniqueKeys: false,
    merge: true,
    lineCounter: lc,
    customTags: pythonTags,
    prettyErrors: false,
  });
  const err = doc.errors[0];
  if (err) {
    const pos = lc.linePos(err.pos[0]);
    // The parser itself recurses: a document nested thousands of levels deep overflows its stack.
    const what = /call stack/i.test(err.message)
      ? `YAML nested too deeply to read (postfleet reads up to ${limits.maxValueDepth} levels): flatten the data`
      : mentionsSecret(text.split(/\r?\n/)[pos.line - 1] ?? "")
        ? "YAML syntax error (details not shown: the line sets a password)"
        : `YAML syntax error: ${err.message.split("\n")[0]}`;
    throw new InventoryError(what, { file, line: pos.line, column: pos.col });
  }
  const lineOf = (n: Node | null | undefined): number | undefined => (n?.range ? lc.linePos(n.range[0]).line : undefined);
  const at = (n: unknown): { file: string; line?: number } => {
    const l = lineOf(n as Node);
    return l === undefined ? { file } : { file, line: l };
  };

  const anchored = new Map<Node, Converted>();
  const inProgress = new Set<Node>();
  let total = 0;
  const count = (n: number, node: unknown): void => {
    total += n;
    if (total > limits.maxYamlValues) {
      throw new InventoryError(`YAML aliases expand this document to more than ${fmt(limits.maxYamlValues)} values (an alias bomb?): postfleet stops here; use fewer nested aliases`, at(node));
    }
  };
  const tooDeep = (node: unknown): InventoryError => new InventoryError(`YAML values nested more than ${limits.maxValueDepth} levels deep (through aliases too): flatten the data`, at(node));

  const conv = (node: unknown, depth: number): Converted => {
    if (depth > limits.maxValueDepth) throw tooDeep(node);
    if (node === null || node === undefined) return { value: null, size: 1, height: 0 };
    if (isAlias(node)) {
      const target = node.resolve(doc) as Node | undefined;
      if (!target) throw new InventoryError(`YAML alias *${node.source} has no anchor before it`, at(node));
      if (inProgress.has(target)) throw new InventoryError(`YAML alias *${node.source} is inside the value it refers to (a recursive alias)`, at(node));
      const c = anchored.get(target) ?? conv(target, depth);
      if (depth + c.height > limits.maxValueDepth) throw tooDeep(node);
      count(c.size, node);
      return c;
    }
    const n = node as Node;
    const anchor = (n as { anchor?: string }).anchor;
    if (anchor) inProgress.add(n);
    const c = convNode(n, depth);
    if (anchor) {
      inProgress.delete(n);
      anchored.set(n, c);
    }
    return c;
  };

  const convNode = (node: Node, depth: number): Converted => {
    count(1, node);
    if (isScalar(node)) {
      const v = node.value;
      if (v instanceof Date) return { value: typeof node.source === "string" ? node.source : v.toISOString(), size: 1, height: 0 };
      if (typeof v === "symbol") return { value: "<<", size: 1, height: 0 };
      return { value: v, size: 1, height: 0 };
    }
    if (isSeq(node)) {
      const arr: unknown[] = [];
      let size = 1;
      let height = 0;
      for (const i of node.items) {
        const c = conv(i, depth + 1);
        arr.push(c.value);
        size += c.size;
        height = Math.max(height, c.height);
      }
      const l = lineOf(node);
      if (l !== undefined) lines.set(arr, l);
      return { value: arr, size, height: height + 1 };
    }
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      const info = new Map<string, KeyInfo>();
      const merged: Record<string, unknown>[] = [];
      let size = 1;
      let height = 0;
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        if (isScalar(k) && (k.value === "<<" || typeof k.value === "symbol") && k.type === Scalar.PLAIN) {
          const src = conv(pair.value, depth + 1);
          size += src.size;
          height = Math.max(height, src.height - 1);
          for (const m of Array.isArray(src.value) ? src.value : [src.value]) {
            if (!m || typeof m !== "object" || Array.isArray(m)) throw new InventoryError("a YAML merge key (<<) needs a mapping or a list of mappings", { file, line: lineOf(k) ?? 0 });
            merged.push(m as Record<string, unknown>);
          }
          continue;
        }
        const kc = conv(k, depth + 1);
        const kv = kc.value;
        const ks = kv === null ? "null" : kv === true ? "true" : kv === false ? "false" : typeof kv === "object" ? JSON.stringify(kv) : String(kv);
        const vc = conv(pair.value, depth + 1);
        obj[ks] = vc.value;
        size += kc.size + vc.size;
        height = Math.max(height, kc.height, vc.height);
        const kl = lineOf(k);
        info.set(ks, kl === undefined ? { isString: typeof kv === "string" } : { line: kl, isString: typeof kv === "string" });
      }
      // Merged keys come first and never override explicit ones (PyYAML).
      let result = obj;
      if (merged.length) {
        result = {};
        for (const m of merged.slice().reverse()) Object.assign(result, m);
        for (const m of merged) for (const k of Object.keys(m)) if (!(k in result)) result[k] = m[k];
        Object.assign(result, obj);
        for (const m of merged) {
          const mi = keys.get(m);
          if (mi) for (const [k, v] of mi) if (!info.has(k)) info.set(k, v);
        }
      }
      keys.set(result, info);
      const l = lineOf(node);
      if (l !== undefined) lines.set(result, l);
      return { value: result, size, height: height + 1 };
    }
    return { value: null, size: 1, height: 0 };
  };
  return { value: conv(doc.contents, 0).value, keys, lines };
}
