// The difference between a ConfigSpec and an instance's current main.cf and
// master.cf, as ParamChanges and the postconf(1) invocations that apply
// exactly those changes. Pure: the caller reads the current values.
import type { ConfigSpec, MasterField, ParamChange } from "../../protocol/index.js";
import { commandProgram, commandWords, isMasterField, newEntryLine, splitCommand, type MasterEntry } from "../postfix/master-cf.js";

export interface CurrentConfig {
  /** postconf -n */
  main: Map<string, string>;
  /** postconf -d for the parameters the plan asks about (defaultsNeeded). */
  defaults: Map<string, string>;
  /** postconf -F / -P, by "service/type". */
  master: Map<string, MasterEntry>;
}

export interface ConfigPlan {
  changes: ParamChange[];
  /** postconf arguments after `-c DIR`, in the order they must run. */
  commands: string[][];
}

/** A spec that cannot be applied (reported with code "usage"). */
export class ConfigSpecError extends Error {}

const norm = (v: string) => v.trim();

/** main.cf parameters whose postconf -d value the plan needs: those the spec touches and are not set now. */
export function defaultsNeeded(spec: ConfigSpec, main: Map<string, string>): string[] {
  const names = new Set<string>();
  for (const n of Object.keys(spec.main ?? {})) if (!main.has(n)) names.add(n);
  for (const n of spec.mainAbsent ?? []) names.add(n);
  return [...names];
}

function checkSpec(spec: ConfigSpec): void {
  const absent = new Set(spec.mainAbsent ?? []);
  for (const [name, value] of Object.entries(spec.main ?? {})) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ConfigSpecError(`invalid main.cf parameter name: '${name}'`);
    if (typeof value !== "string") throw new ConfigSpecError(`main.cf parameter ${name}: value must be a string`);
    if (/[\r\n]/.test(value)) throw new ConfigSpecError(`main.cf parameter ${name}: value must be one line`);
    if (absent.has(name)) throw new ConfigSpecError(`main.cf parameter ${name} is both set and in mainAbsent`);
  }
  for (const name of absent)
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ConfigSpecError(`invalid main.cf parameter name: '${name}'`);
  for (const [key, entry] of Object.entries(spec.master ?? {})) {
    const slash = key.lastIndexOf("/");
    if (slash <= 0 || slash === key.length - 1 || /\s/.test(key))
      throw new ConfigSpecError(`master.cf entry '${key}': expected "service/type"`);
    if (entry === null) continue; // removed as a whole
    if (typeof entry !== "object") throw new ConfigSpecError(`master.cf entry ${key}: expected an object or null`);
    for (const [name, value] of Object.entries(entry)) {
      if (isMasterField(name)) {
        if (typeof value !== "string")
          throw new ConfigSpecError(`master.cf ${key}/${name}: a field cannot be removed, only set`);
        if (value.trim() === "" || (name !== "command" && /\s/.test(value.trim())))
          throw new ConfigSpecError(`master.cf ${key}/${name}: invalid value '${value}'`);
      } else {
        if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ConfigSpecError(`master.cf ${key}: invalid parameter name '${name}'`);
        if (value !== null && typeof value !== "string") throw new ConfigSpecError(`master.cf ${key}/${name}: value must be a string or null`);
        // postconf: "-Pe does not accept whitespace in parameter value".
        if (typeof value === "string" && /\s/.test(value.trim()))
          throw new ConfigSpecError(`master.cf ${key}/${name}: postconf -P does not accept whitespace in a parameter value`);
      }
    }
  }
}

/** What must change, and how. Throws ConfigSpecError for a spec that cannot be applied. */
export function planConfig(spec: ConfigSpec, cur: CurrentConfig): ConfigPlan {
  checkSpec(spec);
  const changes: ParamChange[] = [];
  const commands: string[][] = [];

  // main.cf: a value equal to the explicit setting, or (when unset) to the default, is not a change.
  const sets: string[] = [];
  for (const [name, raw] of Object.entries(spec.main ?? {})) {
    const value = norm(raw);
    const before = cur.main.get(name);
    if (before !== undefined) {
      if (norm(before) === value) continue;
      changes.push({ file: "main.cf", name, before, after: value });
    } else {
      const def = cur.defaults.get(name);
      if (def !== undefined && norm(def) === value) continue;
      changes.push({ file: "main.cf", name, before: null, after: value, ...(def !== undefined ? { defaultValue: def } : {}) });
    }
    sets.push(`${name}=${value}`);
  }
  const removes: string[] = [];
  for (const name of spec.mainAbsent ?? []) {
    const before = cur.main.get(name);
    if (before === undefined || removes.includes(name)) continue;
    const def = cur.defaults.get(name);
    changes.push({ file: "main.cf", name, before, after: null, ...(def !== undefined ? { defaultValue: def } : {}) });
    removes.push(name);
  }
  if (sets.length) commands.push(["-e", ...sets]);
  if (removes.length) commands.push(["-X", ...removes]);

  // master.cf: new entries with -M, then fields (-F), parameters (-P) and removals (-PX).
  const newEntries: string[] = [];
  const fieldSets: string[] = [];
  const paramSets: string[] = [];
  const paramRemoves: string[] = [];
  const entryRemoves: string[] = [];
  const master: NonNullable<ConfigSpec["master"]> = spec.master ?? {};
  for (const [key, entry] of Object.entries(master)) {
    const current = cur.master.get(key);
    if (entry === null) {
      if (!current) continue;
      const before = current.line || newEntryLine(key, current.fields, current.fields.command);
      changes.push({ file: "master.cf", name: key, before, after: null, kind: "entry" });
      entryRemoves.push(key);
      continue;
    }
    const fields: Partial<Record<MasterField, string>> = {};
    const params: Array<[string, string | null]> = [];
    for (const [name, value] of Object.entries(entry)) {
      if (isMasterField(name)) fields[name] = value!.trim();
      else params.push([name, value === null ? null : value.trim()]);
    }
    if (!current) {
      const command = fields.command;
      if (command === undefined) throw new ConfigSpecError(`master.cf entry ${key} does not exist: its command is required to create it`);
      const slash = key.lastIndexOf("/");
      if ((fields.service !== undefined && fields.service !== key.slice(0, slash)) || (fields.type !== undefined && fields.type !== key.slice(slash + 1)))
        throw new ConfigSpecError(`master.cf entry ${key}: service and type of a new entry come from its key`);
      // master(8) refuses a private inet service, and "-" means private: an inet entry is public unless said otherwise.
      if (key.endsWith("/inet") && fields.private === undefined) fields.private = "n";
      const line = newEntryLine(key, fields, commandWords(command).join(" "));
      changes.push({ file: "master.cf", name: key, before: null, after: line, kind: "entry" });
      newEntries.push(`${key}=${line}`);
      for (const [name, value] of params) {
        if (value === null) continue;
        changes.push({ file: "master.cf", name: `${key}/${name}`, before: null, after: value, kind: "param" });
        paramSets.push(`${key}/${name}=${value}`);
      }
      continue;
    }
    for (const [name, value] of Object.entries(fields) as Array<[MasterField, string]>) {
      const before = current.fields[name];
      if (name === "command") {
        // -F replaces the whole field, -o options included: keep the current options.
        if (commandProgram(before) === commandWords(value).join(" ")) continue;
        const after = [...commandWords(value), ...splitCommand(before).options].join(" ");
        changes.push({ file: "master.cf", name: `${key}/command`, before, after, kind: "field" });
        fieldSets.push(`${key}/command=${after}`);
      } else if (before !== value) {
        changes.push({ file: "master.cf", name: `${key}/${name}`, before, after: value, kind: "field" });
        fieldSets.push(`${key}/${name}=${value}`);
      }
    }
    for (const [name, value] of params) {
      const before = current.params.get(name);
      if (value === null) {
        if (before === undefined) continue;
        changes.push({ file: "master.cf", name: `${key}/${name}`, before, after: null, kind: "param" });
        paramRemoves.push(`${key}/${name}`);
      } else if (before === undefined || norm(before) !== value) {
        changes.push({ file: "master.cf", name: `${key}/${name}`, before: before ?? null, after: value, kind: "param" });
        paramSets.push(`${key}/${name}=${value}`);
      }
    }
  }
  if (newEntries.length) commands.push(["-M", ...newEntries]);
  if (fieldSets.length) commands.push(["-F", ...fieldSets]);
  if (paramSets.length) commands.push(["-P", ...paramSets]);
  if (paramRemoves.length) commands.push(["-PX", ...paramRemoves]);
  if (entryRemoves.length) commands.push(["-MX", ...entryRemoves]);
  return { changes, commands };
}

/** postconf -n as it would be after the plan's main.cf changes (sorted by name, as postconf prints it). */
export function mainAfter(main: Map<string, string>, changes: ParamChange[]): Record<string, string> {
  const m = new Map(main);
  for (const c of changes) {
    if (c.file !== "main.cf") continue;
    if (c.after === null) m.delete(c.name);
    else m.set(c.name, c.after);
  }
  return Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
