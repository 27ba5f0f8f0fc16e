// How long the lab helper takes to start N hosts (default 10), up to
// SSH-ready with host keys read. Run: npx tsx bench/lab-start.ts [N]
import { ensureDockerEngine, ensureLabImage } from "../src/lab/engine.js";
import { startLab } from "../test/support/lab.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
const n = Number(process.argv[2] ?? 10);
ensureDockerEngine();
ensureLabImage();
const t0 = performance.now();
const lab = await startLab(n);
const startMs = performance.now() - t0;
const t1 = performance.now();
await lab.stop();
const stopMs = performance.now() - t1;
console.log(JSON.stringify({ hosts: n, startSeconds: +(startMs / 1000).toFixed(2), stopSeconds: +(stopMs / 1000).toFixed(2) }));
