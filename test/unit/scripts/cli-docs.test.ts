// docs/cli/ is generated from the yargs definitions: a page that differs from
// what the code declares fails here (regenerate: npx tsx scripts/cli-docs.ts).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_DOCS_DIR, renderCliDocs } from "../../../scripts/cli-docs.js";

describe("docs/cli", () => {
  const pages = renderCliDocs();

  it("has a page per command and an index, and no other file", () => {
    expect(readdirSync(CLI_DOCS_DIR).sort()).toEqual([...pages.keys()].sort());
  });

  it("is current with src/cli (run `npx tsx scripts/cli-docs.ts` after changing an option)", () => {
    for (const [file, text] of pages) expect(readFileSync(join(CLI_DOCS_DIR, file), "utf8"), `docs/cli/${file}`).toBe(text);
  });

  it("lists every option a command declares, with its alias", () => {
    expect(pages.get("run.md")).toContain("| `-e, --extra-vars` | string, repeatable |");
    expect(pages.get("lab.md")).toMatch(/`postfleet lab <action> \[count\]`/);
    expect(pages.get("runs.md")).toContain("## `postfleet runs show <id>`");
  });
});
