// latent_dashboard_page: the page's HTML, CSS and JS around the embedded JSON.
#include "cocomix/concept/latent_dashboard_page.h"

namespace cocomix {
namespace {

const char* const kHead = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SAE latents</title>
<style>
  :root { --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec; --panel: #f6f7f9; --accent: #d9480f; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
         display: grid; grid-template-columns: 320px 1fr; grid-template-rows: auto 1fr; height: 100vh; }
  header { grid-column: 1 / 3; padding: 10px 18px; border-bottom: 1px solid var(--line); background: #fff;
           display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 17px; margin: 0; }
  header .meta { color: var(--muted); font-size: 13px; }
  aside { border-right: 1px solid var(--line); background: var(--panel); display: flex; flex-direction: column;
          min-height: 0; }
  .controls { padding: 10px; display: flex; gap: 6px; border-bottom: 1px solid var(--line); }
  .controls input { flex: 1; padding: 6px 8px; border: 1px solid #c9ced8; border-radius: 6px; font: inherit; }
  .controls select { padding: 6px; border: 1px solid #c9ced8; border-radius: 6px; font: inherit; background: #fff; }
  #count { padding: 6px 12px; color: var(--muted); font-size: 12px; }
  #list { overflow-y: auto; flex: 1; }
  #list a { display: grid; grid-template-columns: 64px 1fr; gap: 2px 8px; padding: 6px 12px; color: inherit;
            text-decoration: none; border-bottom: 1px solid var(--line); }
  #list a:hover { background: #eceff4; }
  #list a.selected { background: #fff1e8; }
  #list .id { font-weight: 600; }
  #list .stats { color: var(--muted); font-size: 12px; text-align: right; }
  #list .preview { grid-column: 1 / 3; font: 12px/1.3 ui-monospace, Menlo, Consolas, monospace; color: #40465a;
                   white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #list .dead { color: #a0a6b4; }
  main { overflow-y: auto; padding: 18px 24px; min-height: 0; }
  main h2 { margin: 0 0 10px; font-size: 20px; }
  .cards { display: flex; gap: 12px; margin-bottom: 18px; flex-wrap: wrap; }
  .card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 130px; }
  .card .label { color: var(--muted); font-size: 12px; }
  .card .value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; width: 100%; }
  th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; padding: 4px 8px;
       border-bottom: 1px solid var(--line); }
  td { padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  td.activation, td.index { font-variant-numeric: tabular-nums; white-space: nowrap; width: 1%; }
  td.activation { font-weight: 600; }
  td.index { color: var(--muted); }
  .context { font: 13px/1.6 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }
  .context .around { color: #5a6072; }
  .context .token { border-radius: 3px; padding: 1px 2px; color: #000; outline: 1px solid rgba(217, 72, 15, 0.6); }
  .bar { height: 4px; background: var(--accent); border-radius: 2px; margin-top: 3px; }
  nav.pager { margin: 14px 0; display: flex; gap: 12px; }
  nav.pager a { color: var(--accent); }
  .muted { color: var(--muted); }
</style>
</head>
<body>
<header><h1>SAE latents</h1><span class="meta" id="meta"></span></header>
<aside>
  <div class="controls">
    <input id="search" type="search" placeholder="search: id or text" autocomplete="off">
    <select id="sort"><option value="density">by density</option><option value="id">by id</option></select>
  </div>
  <div id="count"></div>
  <div id="list"></div>
</aside>
<main id="main"></main>
<script type="application/json" id="latent-data">)html";

const char* const kTail = R"html(</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("latent-data").textContent);
const LIST_LIMIT = 500;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
const percent = (share) => (100 * share).toFixed(3) + "%";
const number = (x) => x.toFixed(3);
const visible = (text) => text.replace(/\n/g, "\u21b5").replace(/\t/g, "\u2192");

function matches(latent, query) {
  if (!query) return true;
  if (/^\d+$/.test(query) && latent.id === Number(query)) return true;
  const needle = query.toLowerCase();
  return latent.top.some((example) =>
    (example.before + example.token + example.after).toLowerCase().includes(needle));
}

function sortedLatents() {
  const latents = data.latents.slice();
  if (document.getElementById("sort").value === "density")
    latents.sort((a, b) => b.density - a.density || a.id - b.id);
  return latents;
}

function renderList() {
  const query = document.getElementById("search").value.trim();
  const found = sortedLatents().filter((latent) => matches(latent, query));
  const list = document.getElementById("list");
  list.replaceChildren();
  for (const latent of found.slice(0, LIST_LIMIT)) {
    const row = element("a", latent.top.length ? "" : "dead");
    row.href = "#latent-" + latent.id;
    row.dataset.id = latent.id;
    row.append(element("span", "id", "#" + latent.id),
               element("span", "stats", percent(latent.density) + " \u00b7 max " + number(latent.max_activation)));
    const preview = latent.top.slice(0, 3).map((example) => visible(example.token).trim() || "\u2423");
    row.append(element("span", "preview", latent.top.length ? preview.join("  \u00b7  ") : "never fired"));
    list.append(row);
  }
  document.getElementById("count").textContent =
    found.length + " of " + data.latents.length + " latents" + (found.length > LIST_LIMIT ? " (first " + LIST_LIMIT + " shown)" : "");
  markSelected();
}

function markSelected() {
  const selected = currentLatent();
  for (const row of document.querySelectorAll("#list a"))
    row.classList.toggle("selected", selected !== null && Number(row.dataset.id) === selected);
}

function card(label, value, id) {
  const box = element("div", "card");
  const shown = element("div", "value", value);
  shown.id = id;
  box.append(element("div", "label", label), shown);
  return box;
}

function renderLatent(id) {
  const latent = data.latents[id];
  const main = document.getElementById("main");
  main.replaceChildren();
  main.append(element("h2", "", "Latent " + latent.id));
  const cards = element("div", "cards");
  cards.append(card("density", percent(latent.density), "stat-density"),
               card("mean activation", number(latent.mean_activation), "stat-mean"),
               card("max activation", number(latent.max_activation), "stat-max"));
  main.append(cards);
  if (!latent.top.length) {
    main.append(element("p", "muted", "This latent never fired on the " + data.tokens + " tokens read."));
  } else {
    main.append(element("h3", "", "Top " + latent.top.length + " activations"));
    const table = element("table");
    const head = element("tr");
    head.append(element("th", "", "activation"), element("th", "", "token index"), element("th", "", "context"));
    table.append(head);
    for (const example of latent.top) {
      const row = element("tr");
      const strength = latent.max_activation > 0 ? example.activation / latent.max_activation : 0;
      const value = element("td", "activation", number(example.activation));
      const bar = element("div", "bar");
      bar.style.width = Math.round(100 * strength) + "%";
      value.append(bar);
      const context = element("td", "context");
      const token = element("span", "token", visible(example.token));
      token.style.background = "rgba(255, 122, 40, " + (0.15 + 0.85 * strength).toFixed(3) + ")";
      context.append(element("span", "around", visible(example.before)), token,
                     element("span", "around", visible(example.after)));
      row.append(value, element("td", "index", String(example.index)), context);
      table.append(row);
    }
    main.append(table);
  }
  const pager = element("nav", "pager");
  if (id > 0) { const back = element("a", "", "\u2190 latent " + (id - 1)); back.href = "#latent-" + (id - 1); pager.append(back); }
  if (id + 1 < data.latents.length) { const next = element("a", "", "latent " + (id + 1) + " \u2192"); next.href = "#latent-" + (id + 1); pager.append(next); }
  main.append(pager);
}

function renderOverview() {
  const main = document.getElementById("main");
  main.replaceChildren();
  const alive = data.latents.filter((latent) => latent.top.length).length;
  main.append(element("h2", "", "Overview"));
  const cards = element("div", "cards");
  cards.append(card("latents", String(data.n_latents), "stat-latents"),
               card("fired at least once", String(alive), "stat-alive"),
               card("tokens read", String(data.tokens), "stat-tokens"));
  main.append(cards);
  main.append(element("p", "muted", "Pick a latent on the left, or search by id or by text in its top contexts. " +
                      "Each latent page shows its density (share of tokens where TopK keeps it), its mean and max " +
                      "activation and its top " + data.top + " contexts, the token shaded by its activation."));
}

function currentLatent() {
  const match = /^#latent-(\d+)$/.exec(location.hash);
  return match && Number(match[1]) < data.latents.length ? Number(match[1]) : null;
}

function route() {
  const id = currentLatent();
  if (id === null) renderOverview(); else renderLatent(id);
  markSelected();
  document.getElementById("main").scrollTop = 0;
}

document.getElementById("meta").textContent = "layer " + data.layer + " \u00b7 " + data.n_latents + " latents \u00b7 k " +
  data.k + " \u00b7 " + data.tokens + " tokens of " + data.data + " \u00b7 SAE " + data.sae + " \u00b7 teacher " + data.teacher;
document.getElementById("search").addEventListener("input", renderList);
document.getElementById("sort").addEventListener("change", renderList);
window.addEventListener("hashchange", route);
renderList();
route();
</script>
</body>
</html>
)html";

/// JSON text safe inside a <script> element: '<', '>' and '&' only ever occur
/// inside JSON strings, where \u escapes mean the same characters.
std::string script_safe_json(const nlohmann::json& document) {
  const auto text = document.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string latent_dashboard_page(const nlohmann::json& document) { return kHead + script_safe_json(document) + kTail; }

}  // namespace cocomix
