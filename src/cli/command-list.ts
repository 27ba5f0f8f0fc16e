// Every postfleet command, in the order `--help` lists them (main.ts registers
// them; scripts/cli-docs.ts renders docs/cli/ from the same modules).
import type { CommandModule } from "yargs";
import { agentCommand } from "./commands/agent.js";
import { bootstrapCommand } from "./commands/bootstrap.js";
import { driftCommand } from "./commands/drift.js";
import { inventoryCommand } from "./commands/inventory.js";
import { labCommand } from "./commands/lab.js";
import { pingCommand } from "./commands/ping.js";
import { postmultiCommand } from "./commands/postmulti.js";
import { reportCommand } from "./commands/report.js";
import { resumeCommand } from "./commands/resume.js";
import { runCommand } from "./commands/run.js";
import { runsCommand } from "./commands/runs.js";

export const COMMANDS = [
  postmultiCommand,
  runCommand,
  runsCommand,
  resumeCommand,
  pingCommand,
  reportCommand,
  driftCommand,
  bootstrapCommand,
  agentCommand,
  inventoryCommand,
  labCommand,
] as unknown as readonly CommandModule[];
