// Before any integration test: a Docker engine that answers (installed and
// started on a fresh Debian machine, as root) and the lab image (built only
// when docker/ changed). Both steps say what they do on stderr.
import { ensureDockerEngine, ensureLabImage } from "../../src/lab/engine.js";

export default function setup(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  ensureDockerEngine();
  const tag = ensureLabImage();
  process.stderr.write(`postfleet-lab: using image ${tag}\n`);
}
