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
//
// The compile goes through V8's code cache (CODE_CACHE_JS): a file beside the
// bundle in the private cache of the user the agent runs as, read once, its
// owner, mode, bundle hash and payload hash checked, then handed to V8. Under
// become that is the target user's own ~/.cache/postfleet (root's for root),
// never the login user's: bytecode cannot be hash-checked against the bundle
// by V8, so only a file that nobody but the agent's own user could have
// written is ever given to it. A missing, foreign or rejected cache is ignored
// (the bundle compiles from source) and written anew after the first answer.
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

/** What the agent says about the code cache in its hello (`codeCache`). */
export type CodeCacheState =
  /** V8 took the cached code: the bundle was not compiled from source. */
  | "used"
  /** None yet for this bundle and Node.js: compiled from source, one is written after the first answer. */
  | "missing"
  /** One was there and was not used (`codeCacheReason` says why: owner, mode, hash, V8): compiled from source and rewritten. */
  | "rejected"
  /** No private directory of the agent's user to keep one in (`codeCacheReason`): compiled from source, none written. */
  | "off";

/**
 * The code cache's pure parts (ES5, run inside the loader; exported for the unit tests).
 * ccFile: the cache of bundle h for one Node.js version and architecture, in directory dir.
 * ccStatBad: why a cache file's fstat is not to be trusted by the user uid ("" when it is):
 *   a regular file owned by uid, mode 0600 or less (nobody else may have written it).
 * ccHeader/ccParse: "postfleet-v8cache 1 <bundle sha256> <payload sha256>\n" then V8's data;
 *   ccParse returns {data} or {bad: why} (another bundle, a payload not matching its hash).
 */
export const CODE_CACHE_JS = `var CCH="postfleet-v8cache 1 ";
function ccFile(dir,h,v,arch){return dir+"/agent-"+h+".node"+v+"-"+arch+".v8cache";}
function ccStatBad(st,uid){
  if(!st.isFile())return "not a regular file";
  if(st.uid!==uid)return "owned by uid "+st.uid+", not by the agent's uid "+uid;
  if(st.mode&63)return "mode "+(st.mode&4095).toString(8)+", not 600";
  return "";
}
function ccHeader(h,sum){return CCH+h+" "+sum+"\\n";}
function ccParse(b,h,sha){
  var nl=b.indexOf(10);
  if(nl<0||nl>200||b.toString("latin1",0,CCH.length)!==CCH)return {bad:"not a postfleet code cache"};
  var f=b.toString("latin1",CCH.length,nl).split(" "),data=b.subarray(nl+1);
  if(f[0]!==h)return {bad:"made for another bundle"};
  if(!/^[0-9a-f]{64}$/.test(f[1]||"")||sha(data)!==f[1])return {bad:"sha256 does not match"};
  return {data:data};
}`;

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
var t0=Date.now(),fs=require("fs"),crypto=require("crypto"),Module=require("module"),vm=require("vm");
${CODE_CACHE_JS}
function sha(b){return crypto.createHash("sha256").update(b).digest("hex");}
var a=process.argv,h=a[1],become=a[2]==="1",home=a[3],args=a.slice(4);
var uid=process.getuid(),owner=become?Number(process.env.SUDO_UID):uid;
var C=fs.constants,started=false;
// Another run may create the directory at the same moment (EEXIST): the checks below apply to it all the same.
function dir(p,create,who){
  var st;if(who===undefined)who=owner;
  try{st=fs.lstatSync(p);}catch(e){
    if(e.code==="EACCES")throw {unreadable:p};
    if(e.code!=="ENOENT")throw e;
    if(!create)return null;
    try{fs.mkdirSync(p,448);}catch(m){if(m.code!=="EEXIST")throw m;}st=fs.lstatSync(p);
  }
  if(st.isSymbolicLink()||!st.isDirectory())throw {refused:p+" exists and is not a directory"};
  if(st.uid!==who)throw {refused:p+" is owned by uid "+st.uid+", not by "+(who===owner?"the login user":"the agent's user")+" (uid "+who+")"};
  if(st.mode&18)throw {refused:p+" is writable by group or others (mode "+(st.mode&4095).toString(8)+")"};
  return st;
}
// The code cache of the verified bundle: in the private cache of the user the agent runs as, that user's only.
function codeCache(d){
  var r={state:"off"};
  try{
    var cd=d;
    if(become){
      var rh=require("os").userInfo().homedir;
      if(!rh||rh.charAt(0)!=="/")throw {refused:"the agent's user has no home directory"};
      dir(rh,false,uid)||(function(){throw {refused:rh+" does not exist"};})();
      cd=rh.replace(/\\/+$/,"")+"/.cache";dir(cd,true,uid);cd+="/postfleet";dir(cd,true,uid);
    }
    r.file=ccFile(cd,h,v,process.arch);r.dir=cd;r.state="missing";
    var fd;
    try{fd=fs.openSync(r.file,C.O_RDONLY|C.O_NOFOLLOW|C.O_NONBLOCK);}catch(e){
      if(e.code==="ENOENT")return r;
      if(e.code==="ELOOP"){r.state="rejected";r.reason="a symlink";return r;}
      if(e.code==="EACCES"){r.state="rejected";r.reason="not readable by the agent's user";return r;}
      throw e;
    }
    try{
      var bad=ccStatBad(fs.fstatSync(fd),uid),p=bad?null:ccParse(fs.readFileSync(fd),h,sha);
      if(p&&p.bad)bad=p.bad;
      if(bad){r.state="rejected";r.reason=bad;}else r.data=p.data;
    }finally{fs.closeSync(fd);}
  }catch(e){
    r={state:"off",reason:String(e&&(e.refused||(e.unreadable&&"cannot read "+e.unreadable)||e.message)||e)};
  }
  return r;
}
// Write the cache (once) through a new private file and a rename; old bundles' caches unused for a week go.
function ccSave(cc,script){
  if(cc.saved)return false;cc.saved=true;
  var t=cc.dir+"/.agent-"+h+"."+process.pid+".v8tmp",w;
  try{
    var data=script.createCachedData();
    w=fs.openSync(t,C.O_WRONLY|C.O_CREAT|C.O_EXCL|C.O_NOFOLLOW,384);
    fs.writeFileSync(w,Buffer.concat([Buffer.from(ccHeader(h,sha(data)),"latin1"),data]));
    fs.closeSync(w);w=undefined;
    fs.renameSync(t,cc.file);
  }catch(e){
    if(w!==undefined)try{fs.closeSync(w);}catch(x){}
    try{fs.unlinkSync(t);}catch(x){}
    return false;
  }
  try{fs.readdirSync(cc.dir).forEach(function(n){
    if(!/^agent-[0-9a-f]{64}\\..*\\.v8cache$/.test(n)||n.indexOf("agent-"+h+".")===0)return;
    var p=cc.dir+"/"+n,st=fs.lstatSync(p);if(st.isFile()&&Date.now()-st.mtimeMs>7*864e5)fs.unlinkSync(p);
  });}catch(e){}
  return true;
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
  var buf=fs.readFileSync(fd),s=sha(buf);
  if(s!==h){fs.closeSync(fd);say({status:"upload-needed",reason:"mismatch",path:f,actual:s});return;}
  try{var now=new Date();fs.futimesSync(fd,now,now);}catch(e){}
  fs.closeSync(fd);
  say({status:"verified",path:f,ms:Date.now()-t0,node:v});
  var cc=codeCache(d),m=new Module(f,null);m.filename=f;m.paths=Module._nodeModulePaths(d);
  process.argv=[process.execPath,f].concat(args);
  started=true;
  var script=new vm.Script(Module.wrap(buf.toString("utf8")),{filename:f,cachedData:cc.data});
  if(cc.data){if(script.cachedDataRejected){cc.state="rejected";cc.reason="V8 rejected it";}else cc.state="used";}
  globalThis.__postfleetCodeCache={state:cc.state,reason:cc.reason,save:cc.file&&cc.state!=="used"?function(){return ccSave(cc,script);}:function(){return false;}};
  script.runInThisContext({displayErrors:true}).call(m.exports,m.exports,Module.createRequire(f),m,f,d);
  m.loaded=true;
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
