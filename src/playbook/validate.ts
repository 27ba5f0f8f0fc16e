// Structure of the document, before any host or variable: plays, their keys
// and types, and for each step its one type key. The `instances` key is both
// the instance selector of most steps and the declarative step type; its
// shape tells which (a list of mappings declares, anything else selects).

import { z } from "zod";
import { reportZodIssues, suggest } from "./issues.js";
import { PlaySchema, STEP_SCHEMAS, STEP_TYPES, TEMPLATE_RE, type StepType } from "./schema.js";
import type { Diagnostics, Path, YamlSource } from "./yaml-source.js";

export interface CheckedStep {
  /** Path of the step in the document (["0", "steps", 2] style). */
  path: Path;
  type: StepType;
  /** The step as written (templates not rendered). */
  raw: Record<string, unknown>;
}

export interface CheckedPlay {
  path: Path;
  /** Play keys as parsed (counts converted); `steps` is replaced by `checkedSteps`. */
  play: Omit<z.output<typeof PlaySchema>, "steps">;
  steps: CheckedStep[];
}

const PlayShell = PlaySchema.extend({ steps: z.array(z.unknown()).min(1, { error: "a play needs at least one step" }) });

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const TYPES_BUT_INSTANCES = STEP_TYPES.filter((t) => t !== "instances");
const COMMON_KEYS = ["name", "when", "instances", "then", "on_gate_failure"];

function stepWhere(type: StepType | undefined) {
  return (rel: Path): string => {
    if (!rel.length) return type ? `a '${type}' step` : "a step";
    const last = [...rel].reverse().find((p) => typeof p === "string");
    return last ? `'${String(last)}'` : `a '${type}' step`;
  };
}

/** Which step type this mapping is, or undefined after reporting why none. */
function stepType(step: Record<string, unknown>, path: Path, source: YamlSource, diag: Diagnostics): StepType | undefined {
  const keys = Object.keys(step);
  const types = keys.filter((k) => (TYPES_BUT_INSTANCES as readonly string[]).includes(k)) as StepType[];
  let declares = false;
  if ("instances" in step) {
    const v = step["instances"];
    if (Array.isArray(v) && v.length && v.some(isMapping) && !v.every(isMapping)) {
      diag.add(
        source.at([...path, "instances"]),
        "instances mixes instance names and mappings: to select instances give names (or all, enabled, {group: NAME}); to declare instances (the 'instances' step) give every entry as a mapping {name: postfix-out, group: mta, ...}",
      );
      return undefined;
    }
    declares = Array.isArray(v) && v.length > 0 && v.every(isMapping);
  }
  if (declares && types.length) {
    diag.add(
      source.at([...path, types[0]!], { key: true }),
      `a step has exactly one type, and this one has two: 'instances' (a list of mappings declares instances) and '${types[0]}'; to select the instances '${types[0]}' acts on, give instance names, all, enabled or {group: NAME}`,
    );
    return undefined;
  }
  if (declares) return "instances";
  if (types.length > 1) {
    diag.add(source.at([...path, types[1]!], { key: true }), `a step has exactly one type, and this one has ${types.map((t) => `'${t}'`).join(" and ")}: split it into ${types.length} steps`);
    return undefined;
  }
  if (types.length === 1) return types[0];
  const unknown = keys.filter((k) => !COMMON_KEYS.includes(k));
  const expected = `one of: ${STEP_TYPES.join(", ")}`;
  if (unknown.length) {
    const k = unknown[0]!;
    diag.add(source.at([...path, k], { key: true }), `unknown step type '${k}'${suggest(k, STEP_TYPES) || ` (a step's type is ${expected})`}`);
  } else if ("instances" in step) {
    diag.add(
      source.at([...path, "instances"], { key: true }),
      `this step has no type: here 'instances' selects instances (names, all, enabled or {group: NAME}); add what to do with them (${TYPES_BUT_INSTANCES.join(", ")}), or declare instances as a list of mappings {name: postfix-out, ...}`,
    );
  } else diag.add(source.at(path), `a step needs a type key, ${expected}`);
  return undefined;
}

/** Checks that go beyond types, on the values as written (templated ones are checked per host later). */
export function checkDeclaredInstances(list: unknown, base: Path, source: YamlSource, diag: Diagnostics, suffix = ""): void {
  if (!Array.isArray(list)) return;
  const seen = new Map<string, number>();
  list.forEach((d, i) => {
    if (!isMapping(d) || typeof d["name"] !== "string" || TEMPLATE_RE.test(d["name"])) return;
    const name = d["name"];
    const at = source.at([...base, i, "name"]);
    if (name !== "-" && !name.startsWith("postfix-")) diag.add(at, `instance name '${name}' must start with "postfix-" (postmulti's rule), or be "-" for the primary${suffix}`);
    if (name === "-" && (d["state"] === "absent" || d["state"] === "disabled")) diag.add(source.at([...base, i, "state"]), `the primary instance ("-") cannot be ${String(d["state"])}${suffix}`);
    if (seen.has(name)) diag.add(at, `instance '${name}' is declared twice in this list (first as entry ${seen.get(name)! + 1})${suffix}`);
    else seen.set(name, i);
  });
}

export function checkStep(step: unknown, path: Path, source: YamlSource, diag: Diagnostics): CheckedStep | undefined {
  if (!isMapping(step)) {
    diag.add(source.at(path), `a step is a mapping with one step type key (${STEP_TYPES.join(", ")}), not ${step === null ? "nothing" : Array.isArray(step) ? "a list" : `'${String(step)}'`}`);
    return undefined;
  }
  const type = stepType(step, path, source, diag);
  if (!type) return undefined;
  const schema = STEP_SCHEMAS[type];
  const r = schema.safeParse(step);
  if (!r.success) {
    reportZodIssues(r.error, { schema, value: step, base: path, source, diag, where: stepWhere(type) });
    return undefined;
  }
  if (type === "instances") checkDeclaredInstances(step["instances"], [...path, "instances"], source, diag);
  return { path, type, raw: step };
}

/** Validate the document's structure; problems go to `diag`. */
export function checkPlaybook(value: unknown, source: YamlSource, diag: Diagnostics): CheckedPlay[] {
  if (!Array.isArray(value)) {
    diag.add(source.at([]), `a playbook is a YAML list of plays (each starting with '- hosts: ...'), not ${isMapping(value) ? "a mapping" : "a single value"}`);
    return [];
  }
  if (!value.length) {
    diag.add(source.at([]), "a playbook is a list of plays, and this one is empty");
    return [];
  }
  const plays: CheckedPlay[] = [];
  value.forEach((raw, i) => {
    const path: Path = [i];
    if (!isMapping(raw)) {
      diag.add(source.at(path), `a play is a mapping (hosts:, steps:, ...), not ${Array.isArray(raw) ? "a list" : raw === null ? "nothing" : `'${String(raw)}'`}`);
      return;
    }
    const r = PlayShell.safeParse(raw);
    if (!r.success) reportZodIssues(r.error, { schema: PlaySchema, value: raw, base: path, source, diag, where: (rel) => (rel.length ? `'${String(rel[rel.length - 1])}'` : "a play") });
    const steps: CheckedStep[] = [];
    if (Array.isArray(raw["steps"])) raw["steps"].forEach((s, j) => {
      const c = checkStep(s, [i, "steps", j], source, diag);
      if (c) steps.push(c);
    });
    if (r.success) {
      const { steps: _omit, ...play } = r.data;
      plays.push({ path, play, steps });
    }
  });
  return plays;
}
