// The playground end to end in headless Chromium: serve the repository, open web/, pick the
// bundled examples, run them, and check the alerts appear highlighted. Saves a screenshot to
// target/js/playground.png.
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { join, dirname, extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".jsonl": "text/plain" };

const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^([/\\])+/, "");
  if (path.startsWith("..")) { res.writeHead(403); res.end(); return; }
  try {
    const body = await readFile(join(root, path));
    res.writeHead(200, { "content-type": TYPES[extname(path)] || "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/web/index.html`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("#run:not([disabled])", { timeout: 30000 });
  const expectations = { firewall: ["fw.outbound_deny", "fw.c2_ip"], proxy: ["proxy.connect_port", "proxy.upload_volume", "proxy.user_agent"], mail: ["mail.display_name_spoof", "mail.executable_attachment"] };
  for (const [example, rules] of Object.entries(expectations)) {
    await page.selectOption("#example", example);
    await page.waitForFunction(() => document.getElementById("events").value.length > 0 && document.getElementById("status").textContent.startsWith("Loaded"));
    await page.click("#run");
    await page.waitForSelector("#alerts li.alert", { timeout: 10000 });
    const got = await page.$$eval("#alerts li.alert .rule", (els) => els.map((e) => e.textContent));
    for (const r of rules) {
      if (!got.includes(r)) {
        failed = true;
        console.log(`FAIL ${example}: no ${r} alert among ${JSON.stringify(got)}`);
      }
    }
    const color = await page.$eval("#alerts li.alert", (el) => getComputedStyle(el).backgroundColor);
    if (color === "rgba(0, 0, 0, 0)" || color === "rgb(255, 255, 255)") {
      failed = true;
      console.log(`FAIL ${example}: alerts are not highlighted (${color})`);
    }
    console.log(`${failed ? "    " : "ok  "} ${example}: ${got.join(", ")}`);
    if (example === "firewall") {
      await mkdir(join(root, "target", "js"), { recursive: true });
      await page.screenshot({ path: join(root, "target", "js", "playground.png"), fullPage: true });
    }
  }
  // A bad config is reported, not thrown at the user.
  await page.fill("#config", '{"rules":{"fw_outbound_deny":{"min_count":0}}}');
  await page.click("#run");
  const status = await page.textContent("#status");
  if (!status.includes("rules.fw_outbound_deny.min_count")) {
    failed = true;
    console.log(`FAIL bad config: status says ${JSON.stringify(status)}`);
  }
  if (errors.length) {
    failed = true;
    console.log(`FAIL page errors: ${errors.join("; ")}`);
  }
} finally {
  await browser.close();
  server.close();
}
console.log(failed ? "browser test failed" : "browser test passed; screenshot in target/js/playground.png");
process.exit(failed ? 1 : 0);
