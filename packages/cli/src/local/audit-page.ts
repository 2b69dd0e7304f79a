/**
 * The auditor view, beside the approvals page: the remediation log as a searchable, paged table, each entry with its
 * hashes and neighbours, the chain's verification, the evidence report and exports. Static files like the approvals
 * page: the script reads everything from the token-protected /api/audit/ API and builds elements with textContent,
 * never innerHTML (log entries carry text from the account and from people). The report is server-rendered with
 * every value escaped, shown in a sandboxed iframe without scripts.
 */

export const AUDIT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Remediation log — auditor view</title>
<link rel="stylesheet" href="/audit.css">
<script src="/audit.js" defer></script>
</head>
<body>
<header>
  <h1>Remediation log — auditor view</h1>
  <p class="muted">Every step the engine took, hash-chained. <a href="/">Pending approvals</a></p>
</header>
<main>
  <p id="problem" class="problem" role="alert" hidden></p>
  <section aria-labelledby="chain-heading">
    <h2 id="chain-heading">Chain verification</h2>
    <p id="chain" class="chain" role="status" aria-live="polite">Verifying…</p>
    <button type="button" id="verify" class="secondary">Verify again</button>
  </section>

  <section aria-labelledby="search-heading">
    <h2 id="search-heading">Search the log</h2>
    <form id="filters" class="filters">
      <label>HIPAA section <select name="section" id="f-section"><option value="">any</option></select></label>
      <label>Control <select name="control" id="f-control"><option value="">any</option></select></label>
      <label>Stage <select name="stage" id="f-stage"><option value="">any</option></select></label>
      <label>Resource (part of the ARN) <input name="resource" id="f-resource" type="search" autocomplete="off"></label>
      <label>Actor or approver <input name="actor" id="f-actor" type="search" autocomplete="off"></label>
      <label>From <input name="from" id="f-from" type="date"></label>
      <label>To <input name="to" id="f-to" type="date"></label>
      <div class="buttons"><button type="submit">Search</button> <button type="reset" class="secondary">Clear</button></div>
    </form>
    <p id="page-info" class="muted" role="status" aria-live="polite"></p>
    <div class="table-wrap">
      <table id="entries">
        <caption class="visually-hidden">Log entries matching the search, oldest first</caption>
        <thead><tr><th scope="col">Seq</th><th scope="col">Time (UTC)</th><th scope="col">Stage</th><th scope="col">Control</th><th scope="col">Resource</th><th scope="col">Actor / by</th><th scope="col">Reason</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <nav class="pager" aria-label="Pages of results">
      <button type="button" id="first" class="secondary">First page</button>
      <button type="button" id="previous" class="secondary">Previous page</button>
      <button type="button" id="next" class="secondary">Next page</button>
      <button type="button" id="last" class="secondary">Last page</button>
    </nav>
  </section>

  <section aria-labelledby="detail-heading" id="detail" hidden>
    <h2 id="detail-heading" tabindex="-1">Entry</h2>
    <p id="detail-checks"></p>
    <dl id="detail-fields" class="fields"></dl>
    <h3>Neighbours</h3>
    <ul id="neighbours" class="neighbours"></ul>
    <details><summary>The entry as stored (JSON)</summary><pre id="detail-json"></pre></details>
  </section>

  <section aria-labelledby="report-heading">
    <h2 id="report-heading">Evidence report and exports</h2>
    <p class="muted">The report covers findings detected in the From–To dates above (the whole log when they are empty).</p>
    <div class="buttons">
      <button type="button" id="show-report">Show the report</button>
      <button type="button" class="secondary" data-download="/api/audit/report?format=html">Download report (HTML)</button>
      <button type="button" class="secondary" data-download="/api/audit/report?format=csv">Report (CSV)</button>
      <button type="button" class="secondary" data-download="/api/audit/report?format=json">Report (JSON)</button>
      <button type="button" class="secondary" data-download="/api/audit/export?format=csv">Export the log (CSV)</button>
      <button type="button" class="secondary" data-download="/api/audit/export?format=json">Export the log (JSON)</button>
    </div>
    <iframe id="report" title="HIPAA evidence report" sandbox="allow-same-origin" hidden></iframe>
  </section>
</main>
</body>
</html>
`;

export const AUDIT_PAGE_STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #b42318; --line: #8c959f55; }
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 80rem; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin-bottom: 0; }
h2 { font-size: 1.25rem; margin-top: 2rem; }
.muted { color: GrayText; }
.problem { color: var(--bad); font-weight: 600; }
.chain { font-weight: 600; padding: .5rem .75rem; border-left: 5px solid var(--line); }
.chain.ok { border-left-color: var(--ok); }
.chain.bad { border-left-color: var(--bad); color: var(--bad); }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .5rem 1rem; align-items: end; }
.filters label { display: flex; flex-direction: column; font-weight: 600; font-size: .9rem; }
input, select, button { font: inherit; min-height: 2.5rem; }
button { padding: .3rem .9rem; border-radius: 6px; border: 1px solid var(--line); cursor: pointer; }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid Highlight; outline-offset: 2px; }
button:disabled { cursor: not-allowed; opacity: .55; }
.buttons { display: flex; flex-wrap: wrap; gap: .5rem; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; }
td.seq button { min-height: 2rem; padding: .1rem .5rem; }
tr.bad td { background: #b4231822; }
.pager { display: flex; gap: .5rem; }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
.fields dt { font-weight: 600; }
.fields dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font-size: .85rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.neighbours li { margin: .2rem 0; }
iframe { width: 100%; height: 80vh; border: 1px solid var(--line); margin-top: 1rem; background: #fff; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const AUDIT_PAGE_SCRIPT = `"use strict";
(function () {
  var TOKEN_KEY = "hipaa-remediate-approvals-token";
  var query = new URLSearchParams(window.location.search);
  var token = query.get("token");
  if (token) {
    window.sessionStorage.setItem(TOKEN_KEY, token);
    window.history.replaceState(null, "", window.location.pathname);
  } else {
    token = window.sessionStorage.getItem(TOKEN_KEY);
  }
  // Keyset paging: the server gives each page's cursors (after / before a seq), and "last" reads back from the end,
  // so no page needs an offset and none loads the log before it.
  var current = { next: null, previous: null };
  // The server answers requests interleaved, so an older answer may land after a newer one: only the newest counts.
  var latest = { verify: 0, page: 0 };
  var chainBadSeq = null;

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); });
    return node;
  }

  function showProblem(text) {
    var problem = document.getElementById("problem");
    problem.textContent = text || "";
    problem.hidden = !text;
  }

  function request(path) {
    if (!token) return Promise.reject(new Error("No access token: open the URL that \\"hipaa-remediate serve\\" printed, including ?token=..."));
    return fetch(path, { headers: { Authorization: "Bearer " + token }, credentials: "omit", cache: "no-store" }).then(function (response) {
      if (response.ok) return response;
      return response.json().catch(function () { return {}; }).then(function (body) {
        throw new Error((body.error || "HTTP " + response.status) + (response.status === 401 ? " Open the URL that \\"hipaa-remediate serve\\" printed." : ""));
      });
    });
  }

  function json(path) { return request(path).then(function (r) { return r.json(); }); }

  function filters() {
    var form = document.getElementById("filters");
    var params = new URLSearchParams();
    ["section", "control", "stage", "resource", "actor", "from", "to"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    });
    return params;
  }

  function loadFacets() {
    return json("/api/audit/facets").then(function (facets) {
      fill("f-section", facets.sections.map(function (s) { return [s.id, s.id + " " + s.name]; }));
      fill("f-control", facets.controls.map(function (c) { return [c.id, c.id]; }));
      fill("f-stage", facets.stages.map(function (s) { return [s, s]; }));
    });
  }

  function fill(id, options) {
    var select = document.getElementById(id);
    options.forEach(function (pair) { select.appendChild(el("option", { value: pair[0], text: pair[1] })); });
  }

  function verify() {
    var chain = document.getElementById("chain");
    chain.className = "chain";
    chain.textContent = "Verifying the whole chain\\u2026";
    var run = ++latest.verify;
    return json("/api/audit/chain").then(function (report) {
      if (run !== latest.verify) return;
      chainBadSeq = report.ok ? null : report.firstBad ? report.firstBad.seq : 0;
      chain.className = "chain " + (report.ok ? "ok" : "bad");
      chain.setAttribute("data-ok", report.ok ? "true" : "false");
      chain.textContent = report.ok
        ? "Log OK: " + report.checked + " entries verified" + (report.head ? "; head " + report.head.seq + ":" + report.head.hash : "") + "."
        : "Log TAMPERED: " + (report.firstBad ? "entry " + report.firstBad.seq + " is " + report.firstBad.problem + ": " + report.firstBad.detail : "verification failed") + ". " + report.checked + " entries before it verified.";
      markBadRows();
    });
  }

  function markBadRows() {
    document.querySelectorAll("#entries tbody tr").forEach(function (row) {
      row.classList.toggle("bad", chainBadSeq !== null && Number(row.getAttribute("data-seq")) === chainBadSeq);
    });
  }

  // cursor: {} (first page), { after: seq }, { before: seq } or { last: true }.
  function loadPage(cursor) {
    showProblem("");
    var params = filters();
    if (cursor.after) params.set("after", String(cursor.after));
    if (cursor.before) params.set("before", String(cursor.before));
    if (cursor.last) params.set("last", "1");
    params.set("limit", "50");
    var further = cursor.before || cursor.last ? "\\"Previous page\\"" : "\\"Next page\\"";
    var run = ++latest.page;
    return json("/api/audit/entries?" + params.toString()).then(function (page) {
      if (run !== latest.page) return;
      current = {
        next: page.nextAfterSeq === undefined ? null : page.nextAfterSeq,
        previous: page.previousBeforeSeq === undefined ? null : page.previousBeforeSeq,
      };
      var body = document.querySelector("#entries tbody");
      body.replaceChildren.apply(body, page.entries.map(row));
      markBadRows();
      var info = page.entries.length
        ? "Entries " + page.entries[0].seq + "\\u2013" + page.entries[page.entries.length - 1].seq + " (" + page.entries.length + " shown, oldest first)."
        : "No entries match" + (page.budgetExhausted ? " among the " + page.scanned + " examined so far: " + further + " searches further." : ".");
      if (page.entries.length && page.budgetExhausted) info += " The search stopped after examining " + page.scanned + " entries; " + further + " searches further.";
      document.getElementById("page-info").textContent = info;
      document.getElementById("next").disabled = current.next === null;
      document.getElementById("last").disabled = current.next === null;
      document.getElementById("previous").disabled = current.previous === null;
      document.getElementById("first").disabled = current.previous === null;
    }).catch(function (error) { showProblem(error.message); });
  }

  function row(entry) {
    var open = el("button", { type: "button", "aria-label": "Open entry " + entry.seq, text: String(entry.seq) });
    open.addEventListener("click", function () { openEntry(entry.seq); });
    var by = entry.decidedBy ? entry.decidedBy.name + " (" + entry.decidedBy.via + ")" : entry.actor || "";
    return el("tr", { "data-seq": String(entry.seq) }, [
      el("td", { class: "seq" }, [open]),
      el("td", { text: entry.at.replace("T", " ").replace(/\\.\\d+Z$/, "Z") }),
      el("td", { text: entry.stage }),
      el("td", { text: entry.control || "" }),
      el("td", { text: entry.resource ? entry.resource.arn : entry.source || "" }),
      el("td", { text: by }),
      el("td", { text: entry.error ? (entry.reason || "") + " " + entry.error.name + ": " + entry.error.message : entry.reason || "" }),
    ]);
  }

  function field(list, label, value) {
    if (value === undefined || value === null || value === "") return;
    list.appendChild(el("dt", { text: label }));
    list.appendChild(el("dd", {}, [typeof value === "string" ? el("code", { text: value }) : value]));
  }

  function openEntry(seq) {
    return json("/api/audit/entries/" + encodeURIComponent(seq)).then(function (found) {
      var entry = found.entry;
      var section = document.getElementById("detail");
      section.hidden = false;
      var heading = document.getElementById("detail-heading");
      heading.textContent = "Entry " + entry.seq + ": " + entry.stage;
      var checks = document.getElementById("detail-checks");
      checks.textContent = (found.hashMatches ? "Its content matches its hash. " : "Its content does NOT match its hash: it was edited. ") +
        (found.linksToPrevious ? "It links to the entry before it." : "It does NOT link to the entry before it.");
      checks.className = found.hashMatches && found.linksToPrevious ? "chain ok" : "chain bad";
      var list = document.getElementById("detail-fields");
      list.replaceChildren();
      field(list, "Seq", String(entry.seq));
      field(list, "Time", entry.at);
      field(list, "Stage", entry.stage);
      field(list, "Event", entry.eventId);
      field(list, "Actor", entry.actor);
      field(list, "Control", entry.control);
      field(list, "HIPAA", entry.hipaa ? entry.hipaa.join(", ") : "");
      field(list, "Resource", entry.resource ? entry.resource.arn : "");
      field(list, "Mode", entry.mode);
      field(list, "Decided by", entry.decidedBy ? entry.decidedBy.name + " (" + entry.decidedBy.id + ", " + entry.decidedBy.via + ")" : "");
      field(list, "Proposal", entry.proposalId);
      field(list, "Reason", entry.reason);
      field(list, "Error", entry.error ? entry.error.name + ": " + entry.error.message : "");
      field(list, "Plan hash", entry.planHash);
      field(list, "Previous hash", entry.prevHash);
      field(list, "Hash", entry.hash);
      document.getElementById("detail-json").textContent = JSON.stringify(entry, null, 2);
      var neighbours = document.getElementById("neighbours");
      neighbours.replaceChildren();
      [["Previous", found.previous], ["Next", found.next]].forEach(function (pair) {
        var other = pair[1];
        if (!other) { neighbours.appendChild(el("li", { text: pair[0] + ": none" })); return; }
        var go = el("button", { type: "button", class: "secondary", text: pair[0] + ": entry " + other.seq + " (" + other.stage + ")" });
        go.addEventListener("click", function () { openEntry(other.seq); });
        neighbours.appendChild(el("li", {}, [go, " hash ", el("code", { text: other.hash })]));
      });
      heading.focus();
    }).catch(function (error) { showProblem(error.message); });
  }

  function reportRange() {
    var params = new URLSearchParams();
    var f = filters();
    if (f.get("from")) params.set("from", f.get("from"));
    if (f.get("to")) params.set("to", f.get("to"));
    return params.toString();
  }

  function showReport() {
    var frame = document.getElementById("report");
    var range = reportRange();
    return request("/api/audit/report?format=html&view=embedded" + (range ? "&" + range : ""))
      .then(function (response) { return response.text(); })
      .then(function (html) { frame.srcdoc = html; frame.hidden = false; })
      .catch(function (error) { showProblem(error.message); });
  }

  function download(path) {
    var range = path.indexOf("/api/audit/report") === 0 ? reportRange() : "";
    return request(path + (range ? "&" + range : "")).then(function (response) {
      var disposition = response.headers.get("content-disposition") || "";
      var match = /filename="([^"]+)"/.exec(disposition);
      return response.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var link = el("a", { href: url, download: match ? match[1] : "download" });
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      });
    }).catch(function (error) { showProblem(error.message); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("filters");
    form.addEventListener("submit", function (event) { event.preventDefault(); loadPage({}); });
    form.addEventListener("reset", function () { setTimeout(function () { loadPage({}); }, 0); });
    document.getElementById("next").addEventListener("click", function () {
      if (current.next !== null) loadPage({ after: current.next });
    });
    document.getElementById("previous").addEventListener("click", function () {
      if (current.previous !== null) loadPage({ before: current.previous });
    });
    document.getElementById("first").addEventListener("click", function () { loadPage({}); });
    document.getElementById("last").addEventListener("click", function () { loadPage({ last: true }); });
    document.getElementById("verify").addEventListener("click", verify);
    document.getElementById("show-report").addEventListener("click", showReport);
    document.querySelectorAll("[data-download]").forEach(function (button) {
      button.addEventListener("click", function () { download(button.getAttribute("data-download")); });
    });
    loadFacets().then(function () { return loadPage({}); }).catch(function (error) { showProblem(error.message); });
    verify().catch(function (error) { showProblem(error.message); });
  });
})();
`;
