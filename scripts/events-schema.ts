// Writes playbooks/events.schema.json (one record of a run's journal or of
// --events) from src/orchestrator/journal/records.ts: `npx tsx scripts/events-schema.ts`.
// test/unit/orchestrator/journal/store.test.ts fails when the file is stale.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { eventsJsonSchema } from "../src/orchestrator/journal/records.js";

export const EVENTS_SCHEMA_FILE = resolve(import.meta.dirname, "../playbooks/events.schema.json");

export function eventsSchemaText(): string {
  return `${JSON.stringify(eventsJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  writeFileSync(EVENTS_SCHEMA_FILE, eventsSchemaText());
  process.stdout.write(`wrote ${EVENTS_SCHEMA_FILE}\n`);
}
