// Writes playbooks/schema.json from the playbook schema (src/playbook/schema.ts):
// `npm run schema`. test/unit/playbook/schema.test.ts fails when it is stale.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { playbookJsonSchema } from "../src/playbook/schema.js";

export const SCHEMA_FILE = resolve(import.meta.dirname, "../playbooks/schema.json");

export function schemaText(): string {
  return `${JSON.stringify(playbookJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  writeFileSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
