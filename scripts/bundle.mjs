// Bundle the controller CLI (ESM, dependencies left to node_modules) and the
// agent (one self-contained CommonJS file for the hosts' Node.js >= 18).
import { build } from "esbuild";
import { chmodSync, statSync } from "node:fs";

const common = { bundle: true, platform: "node", sourcemap: false, logLevel: "warning" };

await build({
  ...common,
  entryPoints: ["src/agent/main.ts"],
  outfile: "dist/agent.cjs",
  format: "cjs",
  target: "node18",
  minify: false,
  legalComments: "none",
});

await build({
  ...common,
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  format: "esm",
  target: "node20",
  packages: "external",
  banner: { js: "#!/usr/bin/env node" },
});
chmodSync("dist/cli.js", 0o755);

const agentSize = statSync("dist/agent.cjs").size;
if (agentSize > 200 * 1024) {
  console.error(`dist/agent.cjs is ${agentSize} bytes: over the 200 KB budget`);
  process.exit(1);
}
console.log(`bundled dist/cli.js and dist/agent.cjs (${(agentSize / 1024).toFixed(1)} KB)`);
