// The V8 code cache the loader (src/transport/agent-launch.ts) compiled the
// bundle with: what the hello says about it, and its writing right after the
// first answer is written (synchronously: that answer is already out, and a
// run of one request ends the agent right after it), so that it holds the
// code that answer needed. An agent not started by the loader (a resident agent, a
// test) has none and says nothing.
import type { HelloResponse } from "../../protocol/index.js";

interface LoaderCodeCache {
  state: NonNullable<HelloResponse["codeCache"]>;
  reason?: string;
  /** Writes the cache (once; a no-op when it was used). */
  save(): boolean;
}

const loaderCache = (): LoaderCodeCache | undefined => (globalThis as { __postfleetCodeCache?: LoaderCodeCache }).__postfleetCodeCache;

/** The hello's codeCache and codeCacheReason fields (none when the loader set up no cache). */
export function codeCacheHello(): Pick<HelloResponse, "codeCache" | "codeCacheReason"> {
  const c = loaderCache();
  if (!c) return {};
  return { codeCache: c.state, ...(c.reason ? { codeCacheReason: c.reason } : {}) };
}

/** After the first answer: write the code cache (the loader writes it once; nothing when it was used). */
export function saveCodeCache(): void {
  const c = loaderCache();
  if (c && c.state !== "used") c.save();
}
