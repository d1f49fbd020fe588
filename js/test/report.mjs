// `malhost report --format html` in headless Chromium: the page the CLI writes for the bundled
// firewall example opens from a file (no server), lists the hosts ranked by risk with their
// levels coloured, and shows each host's explanation. Saves a screenshot to
// target/js/report.png. Needs the `malhost` binary (target/debug/malhost, or $MALHOST_BIN).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = process.env.MALHOST_BIN || join(root, "target", "debug", "malhost");
mkdirSync(join(root, "target", "js"), { recursive: true });
const page_path = join(root, "target", "js", "report.html");
execFileSync(bin, ["report", "--replay", "--format", "html", "-o", page_path, "--config", "examples/config.json", "examples/firewall.jsonl"], { cwd: root, stdio: "inherit" });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
let failed = false;
const fail = (m) => { failed = true; console.log(`FAIL report: ${m}`); };
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(page_path).href);
  const rows = await page.$$eval("#hosts tr.host", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  const hosts = rows.map((r) => r[1]);
  if (JSON.stringify(hosts) !== JSON.stringify(["10.0.2.99", "10.0.4.7"])) fail(`hosts ${JSON.stringify(hosts)}`);
  if (!rows.every((r) => r[2] === "moderate" && r[3] === "40")) fail(`levels and scores ${JSON.stringify(rows)}`);
  const bg = await page.$eval("#hosts tr.host td.level", (td) => getComputedStyle(td).backgroundColor);
  if (bg === "rgba(0, 0, 0, 0)" || bg === "rgb(255, 255, 255)") fail(`level not coloured (${bg})`);
  const why = await page.$$eval("#hosts p.why", (ps) => ps.map((p) => p.textContent));
  if (!why[0] || !why[0].startsWith("fw.outbound_deny high 40 × 1 (1 alert) = 40")) fail(`explanation ${JSON.stringify(why)}`);
  if (requests.some((u) => !u.startsWith("file:"))) fail(`the page fetched ${JSON.stringify(requests)}`);
  if (errors.length) fail(`page errors ${JSON.stringify(errors)}`);
  await page.screenshot({ path: join(root, "target", "js", "report.png"), fullPage: true });
  console.log(`${failed ? "    " : "ok  "} report: ${hosts.join(", ")}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
