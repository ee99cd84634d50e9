#!/usr/bin/env node
// Certifies the safetensors header parser of the npm package @huggingface/hub (pinned in
// package.json next to this file) through the external-program protocol
// (docs/external-protocol.md).
//
// The library reads headers over HTTP: parseSafetensorsMetadata({repo, path, fetch}) calls
// parseSingleFile -> downloadFile -> fileDownloadInfo, then reads slices of a WebBlob, every
// request going through the `fetch` it is given. Here that `fetch` is a small local file server:
// whatever URL the library builds is answered from the file being loaded, as a Hub that serves
// plain (non-Xet) files would answer it. Nothing touches the network: the global fetch is replaced
// by one that refuses, so a code path that bypassed the shim would show up as an error.
//
// The library is header-only: it returns the parsed header and never reads tensor bytes, so the
// answer gives names, dtypes and shapes, and the __metadata__ map.
//
//   node reader.mjs PATH        one-shot: print the result, exit 0 (accepted) or 1 (rejected)
//   node reader.mjs --serve     persistent: JSON lines on stdin and stdout
//   node reader.mjs --describe  print the description
//
// Set HFJS_TRACE=1 to log every request the library makes, and the answer, on stderr.
//
// Install first: `npm ci` (or `npm install`) in this folder.

import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const PACKAGE = "@huggingface/hub";
// The 22 safetensors dtypes; all of them are in the library's `Dtype` type (which also lists the
// non-safetensors spellings E8M0, FP4 and UE8). The library reports the header's dtype string as
// it is, without checking it.
const DTYPES = [
  "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
  "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64",
];
// Above this many tensors the reply is one content digest (the protocol's "digest").
const DIGEST_ABOVE = 10_000;
const TRACE = Boolean(process.env.HFJS_TRACE);

// The library, loaded the way a CommonJS user gets it (dist/index.js), and its version.
let hub = null;
let version = "unknown";
let unavailable = null;
try {
  const require = createRequire(import.meta.url);
  const main = require.resolve(PACKAGE);
  hub = require(PACKAGE);
  // The package's "exports" hide package.json: find it above the entry point.
  for (let dir = dirname(main); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (pkg.name === PACKAGE) {
        version = pkg.version;
        break;
      }
    } catch {
      // no package.json here
    }
  }
} catch (error) {
  unavailable = `${PACKAGE} is not installed (run \`npm ci\` in examples/hf-hub-js): ${error.message}`;
}

// No network: anything that does not go through the shim fails loudly.
globalThis.fetch = async (input) => {
  throw new Error(`network access attempted outside the local fetch shim: ${String(input?.url ?? input)}`);
};

// --- The local file server -------------------------------------------------------------------

const REPO = "local/file";
const FILE = "model.safetensors";
const HUB_URL = "https://huggingface.co";
const FILE_URL = `${HUB_URL}/${REPO}/resolve/main/${FILE}`;

function readRange(fd, start, length) {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const got = readSync(fd, buffer, done, length - done, start + done);
    if (got === 0) break;
    done += got;
  }
  return buffer.subarray(0, done);
}

// A single byte range as HTTP defines it (RFC 9110, 14.1.2), for a file of `size` bytes:
// {start, end} (end inclusive), "unsatisfiable", or null when the header is to be ignored
// (absent, not bytes, several ranges or syntactically invalid: a server then sends the whole file).
function parseRange(header, size) {
  if (header == null) return null;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === "" ? Infinity : Number(match[2]);
  if (last < start) return null; // invalid byte-range-spec: the Range header is ignored
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(last, size - 1) };
}

function trace(...parts) {
  if (TRACE) process.stderr.write(parts.join(" ") + "\n");
}

// A `fetch` that serves the local file at `path` for the URL the library builds for REPO/FILE.
function localFetch(path) {
  return async (input, init = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = String(init.method ?? input?.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers ?? input?.headers);
    const range = headers.get("range");
    const reply = (status, body, extra) => {
      trace(`  ${method} ${url} range=${range ?? "-"} -> ${status}`, JSON.stringify(extra));
      const response = new Response(method === "HEAD" ? null : body, { status, headers: extra });
      // A Response built by hand has an empty url; one from a real fetch carries the URL fetched.
      Object.defineProperty(response, "url", { value: url });
      return response;
    };
    if (new URL(url).origin + new URL(url).pathname !== FILE_URL) {
      return reply(404, JSON.stringify({ error: "Entry not found" }), {
        "Content-Type": "application/json",
        "X-Error-Code": "EntryNotFound",
      });
    }
    if (method !== "GET" && method !== "HEAD") return reply(405, "", { Allow: "GET, HEAD" });
    const fd = openSync(path, "r");
    try {
      const stat = fstatSync(fd);
      const size = stat.size;
      const common = {
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
        ETag: `"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`,
      };
      const wanted = parseRange(range, size);
      if (wanted === "unsatisfiable") {
        return reply(416, "", { ...common, "Content-Range": `bytes */${size}`, "Content-Length": "0" });
      }
      if (wanted === null) {
        const body = method === "HEAD" ? Buffer.alloc(0) : readRange(fd, 0, size);
        return reply(200, body, { ...common, "Content-Length": String(size) });
      }
      const length = wanted.end - wanted.start + 1;
      const body = method === "HEAD" ? Buffer.alloc(0) : readRange(fd, wanted.start, length);
      return reply(206, body, {
        ...common,
        "Content-Range": `bytes ${wanted.start}-${wanted.end}/${size}`,
        "Content-Length": String(length),
      });
    } finally {
      closeSync(fd);
    }
  };
}

// --- Loading a file and reporting the result -------------------------------------------------

class Malformed extends Error {}

// A short description of a value from the header. Deeply nested values overflow the stack in
// JSON.stringify (and in String()), so those are only named by their type.
function short(value) {
  let text;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? "[…]" : typeof value === "object" ? "{…}" : typeof value;
  }
  return text.length <= 60 ? text : text.slice(0, 59) + "…";
}

// The error's own class name: some library errors (HubApiError) leave `name` as "Error".
function errorType(error) {
  if (error === null || typeof error !== "object") return typeof error;
  const name = error.name;
  const constructor = error.constructor?.name;
  return name && name !== "Error" ? name : constructor || name || "Error";
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// What the library returned, as the protocol's header-only answer. The tensors are read from the
// returned header the way a user of the library reads them: every own entry but __metadata__.
function answer(header) {
  if (!isPlainObject(header)) throw new Malformed(`the returned header ${short(header)} is not an object`);
  let metadata = null;
  const tensors = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (info === null) continue;
      if (!isPlainObject(info)) throw new Malformed(`__metadata__ ${short(info)} is not a mapping`);
      for (const [key, value] of Object.entries(info)) {
        if (typeof value !== "string") throw new Malformed(`metadata entry ${short(key)}: ${short(value)} is not a string`);
      }
      metadata = info;
      continue;
    }
    if (!isPlainObject(info)) throw new Malformed(`tensor ${short(name)}: entry ${short(info)} is not an object`);
    const { dtype, shape } = info;
    if (typeof dtype !== "string") throw new Malformed(`tensor ${short(name)}: dtype ${short(dtype)} is not a string`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Malformed(`tensor ${short(name)}: shape ${short(shape)} is not a list of sizes`);
    }
    tensors.push({ name, dtype, shape });
  }
  if (tensors.length > DIGEST_ABOVE) {
    return { outcome: "accepted", digest: { count: tensors.length, sha256: contentDigest(tensors, metadata) }, metadata };
  }
  return { outcome: "accepted", tensors, metadata };
}

// JSON with every character outside printable ASCII escaped, as the digest definition requires.
function asciiJson(value) {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

// Unicode code point order is the order of the UTF-8 bytes (not of UTF-16 units).
function byCodePoint(a, b) {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function contentDigest(tensors, metadata) {
  const hash = createHash("sha256");
  for (const t of [...tensors].sort((a, b) => byCodePoint(a.name, b.name))) {
    hash.update(asciiJson([t.name, t.dtype, t.shape, null, null]) + "\n");
  }
  const keys = Object.keys(metadata ?? {}).sort(byCodePoint);
  hash.update("{" + keys.map((k) => asciiJson(k) + ":" + asciiJson(metadata[k])).join(",") + "}");
  return hash.digest("hex");
}

async function outcome(path) {
  try {
    return await load(path);
  } catch (error) {
    // A failure of this program rather than of the library: still one answer, flagged.
    return { outcome: "rejected", error: `reader failure: ${String(error?.message ?? error)}`, error_type: errorType(error), unexpected: true };
  }
}

async function load(path) {
  if (hub === null) return { outcome: "rejected", error: unavailable, error_type: "NotInstalled", unexpected: true };
  trace(`load ${path}`);
  let result;
  try {
    result = await hub.parseSafetensorsMetadata({ repo: REPO, path: FILE, hubUrl: HUB_URL, fetch: localFetch(path) });
  } catch (error) {
    const name = errorType(error);
    const message = String(error?.message ?? error);
    // The error the library throws on purpose for a bad file.
    if (name === "SafetensorParseError") return { outcome: "rejected", error: message, error_type: name };
    if (error instanceof RangeError && /allocation failed|Array buffer|Invalid typed array length/i.test(message)) {
      return { outcome: "memory-limit", error: message, error_type: name };
    }
    return { outcome: "rejected", error: message, error_type: name, unexpected: true };
  }
  if (result?.sharded !== false) {
    return { outcome: "rejected", error: `unexpected result ${short(result)}`, error_type: "ShimError", unexpected: true };
  }
  try {
    return answer(result.header);
  } catch (error) {
    if (error instanceof Malformed) return { outcome: "accepted", malformed: error.message };
    throw error;
  }
}

const DESCRIPTION = {
  implementation: `${PACKAGE} parseSafetensorsMetadata (local fetch)`,
  version,
  available: hub !== null,
  ...(hub === null && { reason: unavailable }),
  capabilities: { kind: "header-only", dtypes: DTYPES, devices: ["cpu"], can_write: false },
};

const args = process.argv.slice(2);
if (args[0] === "--describe") {
  process.stdout.write(JSON.stringify(DESCRIPTION) + "\n");
} else if (args[0] === "--serve") {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    let reply;
    if (request.op === "start") reply = { started: DESCRIPTION };
    else if (request.op === "load") reply = await outcome(request.path);
    else if (request.op === "stop") {
      process.stdout.write(JSON.stringify({ seq: request.seq, stopped: true }) + "\n");
      break;
    } else reply = { outcome: "rejected", error: `unknown op ${request.op}`, unexpected: true };
    process.stdout.write(JSON.stringify({ seq: request.seq, ...reply }) + "\n");
  }
} else if (args.length === 1) {
  const result = await outcome(args[0]);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = result.outcome === "rejected" || result.outcome === "memory-limit" ? 1 : 0;
} else {
  process.stderr.write("usage: reader.mjs PATH | --serve | --describe\n");
  process.exitCode = 2;
}
