// YAML as Ansible (PyYAML, YAML 1.1) reads it: yes/no/on/off booleans (not
// y/n), floats only with a dot, octal 0777, sexagesimal, merge keys `<<`,
// duplicate keys (last wins), `!vault` and `!unsafe` tags. JSON is tried
// first, as Ansible's loader does. Mapping keys keep their line numbers for
// error messages.

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node, type Document, type ScalarTag, type Tags } from "yaml";
import { InventoryError } from "./errors.js";
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

/** Parse YAML (or JSON) text the way Ansible's loader does. */
export function loadYaml(text: string, file: string): LoadedData {
  const keys = new WeakMap<object, Map<string, KeyInfo>>();
  const lines = new WeakMap<object, number>();
  const t = text.trimStart();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return { value: JSON.parse(text) as unknown, keys, lines };
    } catch {
      // not JSON: read it as YAML below
    }
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
    throw new InventoryError(`YAML syntax error: ${err.message.split("\n")[0]}`, { file, line: pos.line, column: pos.col });
  }
  const lineOf = (n: Node | null | undefined): number | undefined => (n?.range ? lc.linePos(n.range[0]).line : undefined);

  const conv = (node: unknown, depth: number): unknown => {
    if (depth > 200) throw new InventoryError("YAML nesting too deep (recursive alias?)", { file });
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return conv(node.resolve(doc), depth + 1);
    if (isScalar(node)) {
      const v = node.value;
      if (v instanceof Date) return typeof node.source === "string" ? node.source : v.toISOString();
      if (typeof v === "symbol") return "<<";
      return v;
    }
    if (isSeq(node)) {
      const arr = node.items.map((i) => conv(i, depth + 1));
      const l = lineOf(node as Node);
      if (l !== undefined) lines.set(arr, l);
      return arr;
    }
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      const info = new Map<string, KeyInfo>();
      const merged: Record<string, unknown>[] = [];
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        if (isScalar(k) && (k.value === "<<" || typeof k.value === "symbol") && k.type === Scalar.PLAIN) {
          const src = conv(pair.value, depth + 1);
          for (const m of Array.isArray(src) ? src : [src]) {
            if (!m || typeof m !== "object" || Array.isArray(m)) throw new InventoryError("a YAML merge key (<<) needs a mapping or a list of mappings", { file, line: lineOf(k) ?? 0 });
            merged.push(m as Record<string, unknown>);
          }
          continue;
        }
        const kv = conv(k, depth + 1);
        const ks = kv === null ? "null" : kv === true ? "true" : kv === false ? "false" : typeof kv === "object" ? JSON.stringify(kv) : String(kv);
        obj[ks] = conv(pair.value, depth + 1);
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
      const l = lineOf(node as Node);
      if (l !== undefined) lines.set(result, l);
      return result;
    }
    return null;
  };
  return { value: conv(doc.contents, 0), keys, lines };
}
