// Every golden fixture through the Node build: the output must be byte-identical to
// expected.jsonl, which is what `malhost replay` writes for the fixture (the wasmtime golden
// test asserts that side). Bytes go in through processBytes, so fixtures with invalid UTF-8
// are compared too; the string API is checked on the same inputs where they are text.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const { Detector } = require(join(root, "target", "js", "node", "malhost.js"));

const fixtures = join(root, "host-test", "fixtures");
let failures = 0;
let cases = 0;

function splitLines(bytes) {
  const out = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      out.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

function firstDifference(actual, expected, name) {
  const a = actual.split("\n"), e = expected.split("\n");
  const i = a.findIndex((l, k) => l !== e[k]);
  console.log(`FAIL ${name}: first difference at line ${i + 1}\n  expected: ${e[i]}\n  actual:   ${a[i]}`);
}

for (const name of readdirSync(fixtures).sort()) {
  const dir = join(fixtures, name);
  if (!existsSync(join(dir, "input.jsonl"))) continue;
  cases++;
  const config = existsSync(join(dir, "config.json")) ? readFileSync(join(dir, "config.json"), "utf8") : "{}";
  const input = readFileSync(join(dir, "input.jsonl"));
  const expected = readFileSync(join(dir, "expected.jsonl"));
  // Three lines per call, as the wasmtime golden test does.
  const d = new Detector(config);
  // A secret random seed, as a host should give: output must not depend on it.
  d.setHashSeed(crypto.getRandomValues(new BigUint64Array(1))[0]);
  const lines = splitLines(input);
  const parts = [];
  for (let i = 0; i < lines.length; i += 3) {
    parts.push(Buffer.from(d.processBytes(Buffer.concat(lines.slice(i, i + 3)))));
  }
  parts.push(Buffer.from(d.flush(), "utf8"));
  const out = Buffer.concat(parts);
  if (Buffer.compare(out, expected) !== 0) {
    failures++;
    firstDifference(out.toString("utf8"), expected.toString("utf8"), name);
    continue;
  }
  // The string API, where the input is text.
  const text = new TextDecoder("utf-8", { fatal: false }).decode(input);
  if (Buffer.compare(Buffer.from(text, "utf8"), input) === 0) {
    const s = new Detector(config);
    const got = s.process(text) + s.flush();
    if (got !== expected.toString("utf8")) {
      failures++;
      firstDifference(got, expected.toString("utf8"), name + " (string API)");
      continue;
    }
  }
  console.log(`ok   ${name}`);
}
let threw = false;
try {
  new Detector('{"rules":{"fw_outbound_deny":{"min_count":0}}}');
} catch (e) {
  threw = String(e.message).startsWith("rules.fw_outbound_deny.min_count:");
}
if (!threw) {
  failures++;
  console.log("FAIL a bad config must throw with its JSON path");
}
console.log(`${cases} fixtures, ${failures} failures`);
process.exit(failures === 0 && cases >= 10 ? 0 : 1);
