// Bundle the controller CLI and the agent (one self-contained CommonJS file for
// the hosts' Node.js >= 18). The CLI carries its pure-JavaScript dependencies
// (yargs, yaml, zod, ...) in the one file: every command starts by loading them,
// and one file read and parsed costs about a third less CPU than Node.js's
// module resolution over hundreds of files. ssh2 stays in node_modules (its
// optional native crypto binding is found beside its own files), and so does
// testcontainers (imported only by `postfleet lab`).
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
  external: ["ssh2", "testcontainers"],
  // Whitespace and syntax only: names stay, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  // The bundled CommonJS packages call require() for Node.js built-ins.
  banner: { js: '#!/usr/bin/env node\nimport { createRequire as __postfleetRequire } from "node:module";\nconst require = __postfleetRequire(import.meta.url);' },
});
chmodSync("dist/cli.js", 0o755);

const agentSize = statSync("dist/agent.cjs").size;
if (agentSize > 200 * 1024) {
  console.error(`dist/agent.cjs is ${agentSize} bytes: over the 200 KB budget`);
  process.exit(1);
}
console.log(`bundled dist/cli.js and dist/agent.cjs (${(agentSize / 1024).toFixed(1)} KB)`);
