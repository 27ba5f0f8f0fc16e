// The agent's start on a host in one exec: a tiny `node -e` loader finds the
// cached bundle ~/.cache/postfleet/agent-<sha256>.cjs, reads it once into
// memory, hashes those very bytes and, when they match, compiles the same
// buffer as the agent's CommonJS module. There is no window between check and
// use: a file swapped after the read is never run. Under become
// the loader itself runs as the target user (sudo), so root reads and verifies
// what root runs.
//
// When Node.js, the cache or the file is not right the loader prints one
// machine-readable line, `postfleet-loader {json}`, and exits 0 without
// starting anything; the controller then uploads (one more exec) and starts
// again. Before the agent's code runs, the loader prints a `verified` line
// (with its own time), which splits the per-host timings into "agent check"
// (exec, Node.js start, read and hash) and "agent start" (compile, hello).
import { AgentProcessError, AgentPushError, NodeMissingError, type TransportError } from "./errors.js";
import { LOGIN_HOME, shScript } from "./shell.js";
import { MIN_NODE_MAJOR, nodeCandidates } from "./node-detect.js";

/** Prefix of the loader's status lines on stdout (never JSON by itself, so never taken for the hello). */
export const LOADER_PREFIX = "postfleet-loader ";

export type LoaderStatus =
  /** The file is verified; the agent starts now. `ms`: the loader's own time (Node.js start excluded). */
  | { status: "verified"; path: string; ms: number; node: string; nodePath: string }
  /** No file, a symlink, a file not owned by the login user, another hash, or a cache dir missing under become. */
  | { status: "upload-needed"; reason: "missing" | "mismatch" | "symlink" | "foreign" | "no-cache"; path: string; actual?: string; nodePath: string }
  /** The cache or one of its parents is unsafe: nothing is uploaded or run. */
  | { status: "refused"; path: string; reason: string }
  /** The become user cannot read the login user's private cache. */
  | { status: "unreadable"; path: string; uid: number }
  | { status: "node-missing" }
  | { status: "node-old"; version: string; path: string }
  | { status: "error"; message: string };

/**
 * The loader (ES5 syntax, so that an old Node.js can still say it is too old).
 * argv after `-e LOADER`: sha256, "1" under become else "0", the login user's
 * $HOME (expanded by the login shell), then the agent's own arguments.
 */
export const LOADER = `(function(){
var P=${JSON.stringify(LOADER_PREFIX)};
function say(o){o.nodePath=process.execPath;process.stdout.write(P+JSON.stringify(o)+"\\n");}
var v=process.versions.node;
if(+v.split(".")[0]<18){say({status:"node-old",version:v,path:process.execPath});return;}
var t0=Date.now(),fs=require("fs"),crypto=require("crypto"),Module=require("module");
var a=process.argv,h=a[1],become=a[2]==="1",home=a[3],args=a.slice(4);
var uid=process.getuid(),owner=become?Number(process.env.SUDO_UID):uid;
var C=fs.constants,started=false;
// Another run may create the directory at the same moment (EEXIST): the checks below apply to it all the same.
function dir(p,create){
  var st;
  try{st=fs.lstatSync(p);}catch(e){
    if(e.code==="EACCES")throw {unreadable:p};
    if(e.code!=="ENOENT")throw e;
    if(!create)return null;
    try{fs.mkdirSync(p,448);}catch(m){if(m.code!=="EEXIST")throw m;}st=fs.lstatSync(p);
  }
  if(st.isSymbolicLink()||!st.isDirectory())throw {refused:p+" exists and is not a directory"};
  if(st.uid!==owner)throw {refused:p+" is owned by uid "+st.uid+", not by the login user (uid "+owner+")"};
  if(st.mode&18)throw {refused:p+" is writable by group or others (mode "+(st.mode&4095).toString(8)+")"};
  return st;
}
try{
  if(!/^[0-9a-f]{64}$/.test(h||""))throw new Error("bad sha256 argument");
  if(become&&!(owner>=0))throw {refused:"SUDO_UID is not set: cannot tell the login user under become"};
  if(!home||home.charAt(0)!=="/")throw {refused:"the login user has no home directory (HOME="+home+")"};
  dir(home,false)||(function(){throw {refused:home+" (HOME) does not exist"};})();
  var c=home.replace(/\\/+$/,"")+"/.cache",d=c+"/postfleet",f=d+"/agent-"+h+".cjs";
  if(!dir(c,!become)||!dir(d,!become)){say({status:"upload-needed",reason:"no-cache",path:f});return;}
  if(!become)fs.chmodSync(d,448);
  var fd;
  try{fd=fs.openSync(f,C.O_RDONLY|C.O_NOFOLLOW|C.O_NONBLOCK);}catch(e){
    if(e.code==="ENOENT"){say({status:"upload-needed",reason:"missing",path:f});return;}
    if(e.code==="ELOOP"){say({status:"upload-needed",reason:"symlink",path:f});return;}
    if(e.code==="EACCES")throw {unreadable:f};
    throw e;
  }
  var st=fs.fstatSync(fd);
  if(!st.isFile()||st.uid!==owner||(st.mode&18)){fs.closeSync(fd);say({status:"upload-needed",reason:"foreign",path:f});return;}
  var buf=fs.readFileSync(fd),s=crypto.createHash("sha256").update(buf).digest("hex");
  if(s!==h){fs.closeSync(fd);say({status:"upload-needed",reason:"mismatch",path:f,actual:s});return;}
  try{var now=new Date();fs.futimesSync(fd,now,now);}catch(e){}
  fs.closeSync(fd);
  say({status:"verified",path:f,ms:Date.now()-t0,node:v});
  var m=new Module(f,null);m.filename=f;m.paths=Module._nodeModulePaths(d);
  process.argv=[process.execPath,f].concat(args);
  started=true;
  m._compile(buf.toString("utf8"),f);
}catch(e){
  if(started)throw e;
  if(e&&e.refused){say({status:"refused",path:home,reason:e.refused});return;}
  if(e&&e.unreadable){say({status:"unreadable",path:e.unreadable,uid:uid});return;}
  say({status:"error",message:String(e&&e.message||e)});process.exitCode=1;
}
})()`;

/**
 * Finds Node.js (the first candidate `command -v` resolves) and runs the
 * loader with it; prints the node-missing status when none is found.
 * $1 loader, $2 number of candidates, then the candidates, then the loader's argv.
 */
const FIND_NODE = `l=$1; k=$2; shift 2; p=
while [ "$k" -gt 0 ]; do
  [ -n "$p" ] || p=$(command -v "$1" 2>/dev/null) || p=
  shift; k=$((k - 1))
done
[ -n "$p" ] || { printf '%s{"status":"node-missing"}\\n' ${JSON.stringify(LOADER_PREFIX)}; exit 0; }
exec "$p" -e "$l" "$@"`;

export interface LaunchArgvOptions {
  sha256: string;
  /** postfleet_node, else node and nodejs on the PATH (root's PATH under become). */
  nodePath?: string;
  /** The loader runs through sudo: ownership is checked against SUDO_UID, nothing is created. */
  become: boolean;
  agentArgs: readonly string[];
}

/** The one command that finds Node.js, verifies the cached bundle and becomes the agent. */
export function launchArgv(o: LaunchArgvOptions): string[] {
  const candidates = nodeCandidates(o.nodePath);
  return shScript(FIND_NODE, [LOADER, String(candidates.length), ...candidates, o.sha256, o.become ? "1" : "0", LOGIN_HOME, ...o.agentArgs]);
}

/** The loader's status in a stdout line, or undefined for any other line (banners, the agent's hello). */
export function parseLoaderLine(line: string): LoaderStatus | undefined {
  const at = line.indexOf(LOADER_PREFIX);
  if (at < 0) return undefined;
  try {
    const s = JSON.parse(line.slice(at + LOADER_PREFIX.length)) as LoaderStatus;
    return typeof s === "object" && s !== null && typeof s.status === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The loader stopped before the agent started; `status` says why (the session acts on it). */
export class LoaderStatusError extends AgentProcessError {
  constructor(
    host: string,
    readonly status: Exclude<LoaderStatus, { status: "verified" }>,
  ) {
    super(host, `agent loader on ${host}: ${status.status}`);
  }
}

/** The error a terminal loader status means for the user (upload-needed is handled by the session, not here). */
export function loaderFailure(host: string, s: LoaderStatus, nodePath: string | undefined): TransportError {
  const fix = `run \`postfleet bootstrap -l ${host}\` to install it with the host's package manager, or set postfleet_node to its path`;
  const need = `Node.js ≥ ${MIN_NODE_MAJOR} is required on ${host} for the postfleet agent`;
  switch (s.status) {
    case "node-missing":
      return new NodeMissingError(host, `${need}, but ${nodePath ? `postfleet_node=${nodePath} does not run` : "neither node nor nodejs is on the PATH"}; ${fix}`);
    case "node-old":
      return new NodeMissingError(host, `${need}, but ${s.path} is ${s.version}; ${fix}`);
    case "refused":
      return new AgentPushError(host, `refusing the agent cache on ${host}: ${s.reason}`);
    case "unreadable":
      return new AgentPushError(
        host,
        `the become user (uid ${s.uid}) on ${host} cannot read the login user's private agent cache ${s.path}; become root, or log in as that user`,
      );
    case "upload-needed":
      return new AgentPushError(host, `${s.path} on ${host} still does not match its sha256 (${s.reason}) right after it was uploaded`);
    case "error":
      return new AgentProcessError(host, `the agent loader on ${host} failed: ${s.message}`);
    case "verified":
      return new AgentProcessError(host, `the agent on ${host} was verified but did not start`);
  }
}
