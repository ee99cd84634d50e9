#!/usr/bin/env node
// A small safetensors reader in JavaScript, certified through the external-program protocol
// (docs/external-protocol.md). It does what JavaScript readers commonly do: read the length and
// the header, JSON.parse it, check the structure, sizes and buffer coverage, then return the
// tensors. JSON.parse keeps the last of duplicate names and turns 1.0 and -0 into integers; those
// divergences from the spec are listed in known-failures.txt next to this file.
//
//   node reader.mjs PATH        one-shot: print the result, exit 0 (accepted) or 1 (rejected)
//   node reader.mjs --serve     persistent: JSON lines on stdin and stdout
//   node reader.mjs --describe  print the description

import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { createInterface } from "node:readline";

const MAX_HEADER = 100_000_000n;
const BITS = {
  BOOL: 8n, F4: 4n, F6_E2M3: 6n, F6_E3M2: 6n, U8: 8n, I8: 8n, F8_E5M2: 8n, F8_E4M3: 8n, F8_E8M0: 8n,
  F8_E4M3FNUZ: 8n, F8_E5M2FNUZ: 8n, I16: 16n, U16: 16n, F16: 16n, BF16: 16n, I32: 32n, U32: 32n, F32: 32n,
  C64: 64n, F64: 64n, I64: 64n, U64: 64n,
};
const U64_MAX = (1n << 64n) - 1n;
// Above this many tensors the reply is one content digest instead of a listing (the protocol's
// "digest"), so a million-tensor file is not a 130 MB line.
const DIGEST_ABOVE = 10_000;

class Rejection extends Error {}

function read(fd, position, length) {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const got = readSync(fd, buffer, done, length - done, position + done);
    if (got === 0) throw new Rejection(`file ended after ${done} of ${length} bytes`);
    done += got;
  }
  return buffer;
}

function integer(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) throw new Rejection(`${what} is not a non-negative integer: ${value}`);
  return BigInt(value);
}

export function load(path) {
  const fd = openSync(path, "r");
  try {
    const size = BigInt(fstatSync(fd).size);
    if (size < 8n) throw new Rejection("file shorter than 8 bytes");
    const n = read(fd, 0, 8).readBigUInt64LE(0);
    if (n > MAX_HEADER) throw new Rejection(`header length ${n} too large`);
    if (8n + n > size) throw new Rejection("header length past the end of the file");
    const text = new TextDecoder("utf-8", { fatal: true }).decode(read(fd, 8, Number(n)));
    let header;
    try {
      header = JSON.parse(text);
    } catch (error) {
      throw new Rejection(`header is not JSON: ${error.message}`);
    }
    if (header === null || typeof header !== "object" || Array.isArray(header)) throw new Rejection("header is not an object");
    let metadata = null;
    const entries = [];
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (entry === null) continue;
        if (typeof entry !== "object" || Array.isArray(entry)) throw new Rejection("__metadata__ is not an object");
        for (const value of Object.values(entry)) if (typeof value !== "string") throw new Rejection("metadata value is not a string");
        metadata = entry;
        continue;
      }
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw new Rejection(`entry ${name} is not an object`);
      const { dtype, shape, data_offsets: offsets } = entry;
      if (!(typeof dtype === "string" && Object.hasOwn(BITS, dtype))) throw new Rejection(`unknown dtype ${dtype}`);
      if (!Array.isArray(shape)) throw new Rejection(`shape of ${name} is not an array`);
      if (!Array.isArray(offsets) || offsets.length !== 2) throw new Rejection(`data_offsets of ${name} is not a pair`);
      const dims = shape.map((d) => integer(d, "dimension"));
      const [begin, end] = offsets.map((o) => integer(o, "offset"));
      if (begin > end) throw new Rejection(`data_offsets of ${name} are reversed`);
      let nonzero = BITS[dtype];
      for (const d of dims) nonzero *= d === 0n ? 1n : d;
      if (nonzero > U64_MAX) throw new Rejection(`size of ${name} overflows`);
      const bits = dims.includes(0n) ? 0n : nonzero;
      if (bits % 8n !== 0n) throw new Rejection(`${name} does not fill whole bytes`);
      if (end - begin !== bits / 8n) throw new Rejection(`${name}: shape and data_offsets disagree`);
      entries.push({ name, dtype, shape: dims, begin, end });
    }
    const buffer = size - 8n - n;
    let covered = 0n;
    for (const entry of [...entries].sort((a, b) => (a.begin === b.begin ? (a.end < b.end ? -1 : 1) : a.begin < b.begin ? -1 : 1))) {
      if (entry.begin !== covered) throw new Rejection(`${entry.name} does not start where the previous tensor ends`);
      covered = entry.end;
    }
    if (covered !== buffer) throw new Rejection("the tensors do not cover the buffer exactly");
    const tensors = entries.map((entry) => {
      const data = read(fd, Number(8n + n + entry.begin), Number(entry.end - entry.begin));
      return {
        name: entry.name,
        dtype: entry.dtype,
        shape: entry.shape.map(Number),
        nbytes: data.length,
        sha256: createHash("sha256").update(data).digest("hex"),
      };
    });
    if (tensors.length > DIGEST_ABOVE) {
      return { outcome: "accepted", digest: { count: tensors.length, sha256: contentDigest(tensors, metadata) }, metadata };
    }
    return { outcome: "accepted", tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

// JSON with every character outside printable ASCII escaped, as the digest definition requires.
function asciiJson(value) {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

// Names in Unicode code point order: the order of their UTF-8 bytes (not of UTF-16 units, which
// is what a plain string comparison gives).
function byCodePoint(a, b) {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function contentDigest(tensors, metadata) {
  const hash = createHash("sha256");
  const keyed = tensors.map((t) => [Buffer.from(t.name, "utf8"), t]);
  keyed.sort((a, b) => Buffer.compare(a[0], b[0]));
  for (const [, t] of keyed) hash.update(asciiJson([t.name, t.dtype, t.shape, t.nbytes, t.sha256]) + "\n");
  // Built by hand: a JavaScript object puts integer-like keys first, whatever order they came in.
  const keys = Object.keys(metadata ?? {}).sort(byCodePoint);
  hash.update("{" + keys.map((k) => asciiJson(k) + ":" + asciiJson(metadata[k])).join(",") + "}");
  return hash.digest("hex");
}

function outcome(path) {
  try {
    return load(path);
  } catch (error) {
    if (error instanceof Rejection) return { outcome: "rejected", error: error.message, error_type: "Rejection" };
    if (error instanceof RangeError && /allocation|Array buffer/i.test(error.message)) return { outcome: "memory-limit", error: error.message };
    return { outcome: "rejected", error: String(error && error.message), error_type: error && error.name, unexpected: true };
  }
}

const DESCRIPTION = {
  implementation: "js-reader (example, JSON.parse)",
  version: "1.0.0",
  available: true,
  capabilities: { kind: "full", dtypes: Object.keys(BITS), devices: ["cpu"], can_write: false },
};

const args = process.argv.slice(2);
if (args[0] === "--describe") {
  process.stdout.write(JSON.stringify(DESCRIPTION) + "\n");
} else if (args[0] === "--serve") {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    const request = JSON.parse(line);
    let reply;
    if (request.op === "start") reply = { started: DESCRIPTION };
    else if (request.op === "load") reply = outcome(request.path);
    else if (request.op === "stop") {
      process.stdout.write(JSON.stringify({ seq: request.seq, stopped: true }) + "\n");
      break;
    } else reply = { outcome: "rejected", error: `unknown op ${request.op}`, unexpected: true };
    process.stdout.write(JSON.stringify({ seq: request.seq, ...reply }) + "\n");
  }
} else if (args.length === 1) {
  const result = outcome(args[0]);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = result.outcome === "rejected" ? 1 : 0;
} else {
  process.stderr.write("usage: reader.mjs PATH | --serve | --describe\n");
  process.exitCode = 2;
}
