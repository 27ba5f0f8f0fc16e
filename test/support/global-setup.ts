// Before any integration test: a Docker engine that answers (installed and
// started on a fresh Debian machine, as root) and the lab image (built only
// when docker/ changed). Both steps say what they do on stderr.
import { execFileSync } from "node:child_process";
import { ensureDockerEngine, ensureLabImage, packageRoot } from "../../src/lab/engine.js";

export default function setup(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  ensureDockerEngine();
  const tag = ensureLabImage();
  process.stderr.write(`postfleet-lab: using image ${tag}\n`);
  // Tests run the bundles (dist/cli.js, dist/agent.cjs): make them current.
  execFileSync(process.execPath, ["scripts/bundle.mjs"], { cwd: packageRoot(), stdio: ["ignore", "ignore", "inherit"] });
}
