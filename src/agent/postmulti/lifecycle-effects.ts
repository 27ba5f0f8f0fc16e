// The changes a life-cycle action makes (postmulti-script's work, modelled)
// for structured mode's effects and dry runs.
import { existsSync } from "node:fs";
import type { Effect } from "../../protocol/index.js";
import type { Invocation } from "./invocation-context.js";
import { INIT_WRAPPER, rawValues, type Plan } from "./lifecycle-plan.js";
import { QUEUE_SUBDIRS } from "./lifecycle-prechecks.js";

/** The changes the action makes (postmulti-script's work, modelled). */
export async function plannedEffects(s: Invocation, plan: Plan, argv: string[], env: Record<string, string>): Promise<Effect[]> {
  const { primary } = s;
  const t = plan.target;
  const mainCf = (dir: string) => `${dir}/main.cf`;
  const fx: Effect[] = [];
  const setMulti = () =>
    fx.push({
      kind: "set-parameter",
      file: mainCf(primary.configDir),
      name: "multi_instance_directories",
      from: primary.multiDirs,
      to: plan.secondaries.map((i) => i.configDir).join(" "),
    });
  const setNames = () => {
    if (plan.flags.name) fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name: "multi_instance_name", from: plan.before?.name ?? null, to: t.name ?? "" });
    if (plan.flags.group) fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name: "multi_instance_group", from: plan.before?.group ?? null, to: t.group ?? "" });
  };
  switch (plan.action) {
    case "init": {
      const raw = await rawValues(s, primary.configDir, ["multi_instance_wrapper", "multi_instance_enable"]);
      fx.push({ kind: "set-parameter", file: mainCf(primary.configDir), name: "multi_instance_wrapper", from: raw.get("multi_instance_wrapper") ?? null, to: INIT_WRAPPER });
      fx.push({ kind: "set-parameter", file: mainCf(primary.configDir), name: "multi_instance_enable", from: raw.get("multi_instance_enable") ?? null, to: "yes" });
      break;
    }
    case "create":
    case "import": {
      const fresh = !(existsSync(mainCf(t.configDir)) && existsSync(`${t.configDir}/master.cf`));
      if (fresh && plan.action === "create") {
        if (!existsSync(t.configDir)) fx.push({ kind: "create-directory", path: t.configDir, owner: "root", mode: "0755" });
        if (!existsSync(t.queueDir)) fx.push({ kind: "create-directory", path: t.queueDir, owner: "root", mode: "0755" });
        if (!existsSync(t.dataDir)) fx.push({ kind: "create-directory", path: t.dataDir, owner: primary.mailOwner || "postfix", mode: "0700" });
        fx.push({ kind: "write-file", path: mainCf(t.configDir) }, { kind: "write-file", path: `${t.configDir}/master.cf` });
        for (const [name, to] of [
          ["queue_directory", t.queueDir],
          ["data_directory", t.dataDir],
          ["authorized_submit_users", ""],
          ["master_service_disable", "inet"],
        ] as const)
          fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name, from: null, to });
      }
      setNames();
      setMulti();
      fx.push({ kind: "run", argv: [`${primary.commandDir}/postfix`, "-c", t.configDir, "set-permissions"] });
      break;
    }
    case "deport":
      setMulti();
      if (existsSync(mainCf(t.configDir))) {
        const alt = (await rawValues(s, primary.configDir, ["alternate_config_directories"])).get("alternate_config_directories") ?? "";
        if (!alt.split(/[\s,]+/).includes(t.configDir))
          fx.push({ kind: "set-parameter", file: mainCf(primary.configDir), name: "alternate_config_directories", from: alt, to: `${alt ? alt + " " : ""}${t.configDir}` });
      }
      break;
    case "destroy": {
      setMulti();
      for (const q of QUEUE_SUBDIRS)
        if (existsSync(`${t.queueDir}/${q}`)) fx.push({ kind: "remove", path: `${t.queueDir}/${q}` });
      for (const p of [t.dataDir, t.queueDir, `${t.configDir}/master.cf`, mainCf(t.configDir), t.configDir])
        if (existsSync(p)) fx.push({ kind: "remove", path: p });
      break;
    }
    case "enable":
    case "disable":
      fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name: "multi_instance_enable", from: plan.before?.enabled ? "yes" : "no", to: plan.action === "enable" ? "yes" : "no" });
      break;
    case "assign":
      setNames();
      break;
  }
  fx.unshift({ kind: "run", argv, env });
  return fx;
}

