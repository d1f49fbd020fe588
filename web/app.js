// The playground: the detector's wasm-bindgen build (web/pkg, built by scripts/js-test.sh)
// run in the page on pasted, dropped or bundled examples.
import init, { Detector } from "./pkg/malhost.js";

const $ = (id) => document.getElementById(id);
const EXAMPLES = {
  firewall: ["../examples/config.json", "../examples/firewall.jsonl"],
  proxy: ["../examples/proxy-config.json", "../examples/proxy.jsonl"],
  mail: [null, "../examples/mail.jsonl"],
};

async function loadExample(name) {
  const [cfg, events] = EXAMPLES[name] || [];
  if (!events) return;
  $("config").value = cfg ? await (await fetch(cfg)).text() : "{}";
  $("events").value = await (await fetch(events)).text();
  $("status").textContent = `Loaded the ${name} example.`;
}

function item(text, cls) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  li.textContent = text;
  return li;
}

function run() {
  const alerts = $("alerts"), out = $("out-events");
  alerts.replaceChildren();
  out.replaceChildren();
  let d;
  try {
    d = new Detector($("config").value || "{}");
    d.setHashSeed(crypto.getRandomValues(new BigUint64Array(1))[0]);
  } catch (e) {
    $("status").textContent = `Config rejected: ${e.message}`;
    return;
  }
  const text = d.process($("events").value) + d.flush();
  let nAlerts = 0, nEvents = 0;
  for (const line of text.split("\n")) {
    if (!line) continue;
    let v;
    try { v = JSON.parse(line); } catch { v = null; }
    if (v && v.event && v.event.kind === "alert" && v.rule && v.rule.ruleset === "malhost") {
      nAlerts++;
      const li = item("", "alert");
      const rule = document.createElement("span");
      rule.className = "rule";
      rule.textContent = v.rule.id;
      li.append(rule, document.createTextNode(`  ${v["@timestamp"]}\n${v.message}`));
      alerts.append(li);
    } else {
      nEvents++;
      const cls = v && v.event && v.event.kind === "pipeline_error" ? "error" : (v && (v.malhost || v.threat || v.error) ? "enriched" : "");
      out.append(item(line, cls));
    }
  }
  $("alert-count").textContent = nAlerts;
  $("event-count").textContent = nEvents;
  $("status").textContent = `${nEvents} events out, ${nAlerts} alerts. ${d.stats()}`;
}

function dropTarget(el) {
  el.addEventListener("dragover", (e) => { e.preventDefault(); el.classList.add("dragging"); });
  el.addEventListener("dragleave", () => el.classList.remove("dragging"));
  el.addEventListener("drop", async (e) => {
    e.preventDefault();
    el.classList.remove("dragging");
    const f = e.dataTransfer.files[0];
    if (f) el.value = await f.text();
  });
}

await init();
dropTarget($("events"));
dropTarget($("config"));
$("example").addEventListener("change", (e) => loadExample(e.target.value));
$("run").addEventListener("click", run);
$("run").disabled = false;
$("run").textContent = "Run";
$("status").textContent = "Ready.";
