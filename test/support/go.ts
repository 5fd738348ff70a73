/**
 * The grpc-go peers of the interop tests (`test/wire/go/`): Debian's Go toolchain (golang-go) and
 * grpc-go sources (golang-google-grpc-dev, in /usr/share/gocode), built offline in GOPATH mode.
 *
 * A machine without them still passes `npm test`: {@link describeWithGo} registers such suites as
 * skipped, with the install command in the output. CI sets `REQUIRE_GRPC_GO=1`, under which a
 * missing toolchain fails the suite instead.
 *
 * The two programs are built once per source hash into a cache folder (`~/.cache/grpc-mpsc/go/<hash>`,
 * `GRPC_MPSC_GO_CACHE` moves it), with Go's build cache beside them: a cold build takes about 10-20 s
 * on a 2-core machine, a warm start none. See docs/wire-go.md.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Child, ROOT, spawnChild } from "./processes.js";
import { describeRequiring, type Requirement } from "./requires.js";

/** The Go toolchain: `go` on PATH (Debian's golang-go), or the one `GRPC_MPSC_TEST_GO` names. */
export const GO = process.env.GRPC_MPSC_TEST_GO || "go";

/** Where Debian keeps Go sources (golang-google-grpc-dev and its dependencies put grpc-go there). */
export const SYSTEM_GOPATH = process.env.GRPC_MPSC_TEST_GOPATH || "/usr/share/gocode";

/** The one-line install of what the grpc-go peers need, on Debian and Ubuntu. */
export const INSTALL_GRPC_GO = "apt-get install -y golang-go golang-google-grpc-dev";

/** The Go programs' sources; their import path in the GOPATH is `grpcmpsc/wire/...`. */
const SOURCES = join(ROOT, "test/wire/go");

let cached: string | undefined | null;

/** Why the grpc-go peers cannot be built here, or `undefined` when they can (asked once per file). */
export function goMissing(): string | undefined {
  if (cached === null) return undefined;
  if (cached !== undefined) return cached;
  const version = spawnSync(GO, ["version"], { encoding: "utf8", timeout: 20_000 });
  if (version.status !== 0) {
    cached = `${GO} cannot run (golang-go is missing)`;
  } else if (!existsSync(join(SYSTEM_GOPATH, "src/google.golang.org/grpc/server.go"))) {
    cached = `${SYSTEM_GOPATH} has no grpc-go sources (golang-google-grpc-dev is missing)`;
  } else {
    cached = null;
    return undefined;
  }
  return cached;
}

/**
 * `describe(name, fn)` for a suite that needs the grpc-go peers. Without Go or Debian's grpc-go the
 * suite is skipped, and the file prints why and the install command; with `REQUIRE_GRPC_GO=1` it fails.
 */
export function describeWithGo(name: string, fn: () => void): void {
  describeRequiring(GRPC_GO, name, fn);
}

/** Go and Debian's grpc-go, as a requirement of a suite. */
export const GRPC_GO: Requirement = {
  what: "Go and Debian's grpc-go",
  requireVar: "REQUIRE_GRPC_GO",
  missing: () => {
    const why = goMissing();
    return why === undefined ? undefined : `${why}; install it with: ${INSTALL_GRPC_GO}`;
  },
};

/** The built peers: paths of the two binaries, and how long the build took (0 when cached). */
export interface GoPeers {
  server: string;
  client: string;
  buildMs: number;
}

/** Every file under `dir`, relative to it, sorted (the cache key covers names and contents). */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

function run(args: string[], env: NodeJS.ProcessEnv, cwd: string): void {
  const build = spawnSync(GO, args, { cwd, env, encoding: "utf8", timeout: 300_000 });
  if (build.status !== 0) {
    throw new Error(`${GO} ${args.join(" ")} failed (${build.status ?? build.signal}):\n${build.stderr}`);
  }
}

/** Builds of a source hash unused for this long are removed when another one is built. */
const KEEP_BUILDS_MS = 7 * 24 * 3600 * 1000;

/** Removes the cached builds (about 20 MB each) that no run used for {@link KEEP_BUILDS_MS}. */
function pruneOldBuilds(cache: string): void {
  if (!existsSync(cache)) return;
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    if (/^[0-9a-f]{16}$/.test(name) && statSync(path).mtimeMs < Date.now() - KEEP_BUILDS_MS) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

let built: GoPeers | undefined;

/**
 * Builds `test/wire/go/server` and `test/wire/go/client` unless a build of the same sources (and the
 * same Go) is cached. Offline: GOPATH mode (`GO111MODULE=off`) with the sources copied under a
 * private GOPATH entry, Debian's /usr/share/gocode after it, no module proxy.
 */
export function buildGoPeers(): GoPeers {
  if (built !== undefined) return built;
  const hash = createHash("sha256");
  hash.update(spawnSync(GO, ["version"], { encoding: "utf8" }).stdout);
  for (const f of files(SOURCES))
    hash
      .update(`${f}\0`)
      .update(readFileSync(join(SOURCES, f)))
      .update("\0");
  const cache = process.env.GRPC_MPSC_GO_CACHE || join(homedir(), ".cache/grpc-mpsc/go");
  const dir = join(cache, hash.digest("hex").slice(0, 16));
  const server = join(dir, "bin/server");
  const client = join(dir, "bin/client");
  const ready = (): boolean => existsSync(server) && existsSync(client);
  if (ready()) {
    utimesSync(dir, new Date(), new Date());
    built = { server, client, buildMs: 0 };
    return built;
  }
  // One build at a time per source hash: the test files that need the peers start together, and a
  // second compile beside the first would only halve the speed of both on a 2-core machine.
  const started = Date.now();
  mkdirSync(cache, { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (ready()) {
        built = { server, client, buildMs: Date.now() - started };
        return built;
      }
      // A lock left by a killed run is older than any build takes.
      if (statSync(lock, { throwIfNoEntry: false }) === undefined) continue;
      if (statSync(lock).mtimeMs < Date.now() - LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (!ready()) {
      pruneOldBuilds(cache);
      compile(cache, dir);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  built = { server, client, buildMs: Date.now() - started };
  return built;
}

/** How old a build lock must be to be taken for one a killed run left behind. */
const LOCK_STALE_MS = 10 * 60 * 1000;

/** Compiles both programs into `dir` (built in a folder of its own, renamed into place when whole). */
function compile(cache: string, dir: string): void {
  const tmp = join(cache, `tmp-${process.pid}-${Date.now()}`);
  const src = join(tmp, "gopath/src/grpcmpsc/wire");
  mkdirSync(src, { recursive: true });
  cpSync(SOURCES, src, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GO111MODULE: "off",
    GOPATH: `${join(tmp, "gopath")}:${SYSTEM_GOPATH}`,
    GOCACHE: join(cache, "gocache"),
    GOPROXY: "off",
    GOFLAGS: "",
    CGO_ENABLED: "0",
  };
  try {
    run(["build", "-o", join(tmp, "bin/server"), "./server"], env, src);
    run(["build", "-o", join(tmp, "bin/client"), "./client"], env, src);
    rmSync(join(tmp, "gopath"), { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Starts the grpc-go server on 127.0.0.1 (port 0); resolves once it printed its port. */
export async function startGoServer(): Promise<{ child: Child; port: number }> {
  const child = spawnChild(buildGoPeers().server, [], { keepStdin: true });
  const [, port] = await child.line(/^\{"event":"listening","port":(\d+)\}$/, 10_000);
  return { child, port: Number(port) };
}

/** Runs the grpc-go client against `target` with `scenarios` (see test/wire/go/client/main.go). */
export function runGoClient(target: string, scenarios: string[]): Child {
  return spawnChild(buildGoPeers().client, [target, ...scenarios]);
}
