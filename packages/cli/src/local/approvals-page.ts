/**
 * The local approvals page: static HTML, CSS and a small dependency-free script. The script gets its data from the
 * JSON API with the token the server printed, and builds every element with textContent, never innerHTML, because
 * evidence and resource names come from the account and must not be able to inject markup.
 */

export const APPROVALS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>HIPAA fixes awaiting approval</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>HIPAA fixes awaiting approval</h1>
  <p id="who" class="muted"></p>
  <p><a href="/audit">Auditor view: the log, its verification and the evidence report</a></p>
</header>
<main>
  <div id="announcer" class="visually-hidden" role="status" aria-live="polite"></div>
  <p id="problem" class="problem" role="alert" hidden></p>
  <section aria-labelledby="pending-heading">
    <h2 id="pending-heading">Pending proposals <span id="count" class="muted"></span></h2>
    <p id="empty" class="muted" hidden>Nothing is waiting for a decision.</p>
    <div id="proposals"></div>
  </section>
  <p><button type="button" id="refresh" class="secondary">Refresh</button></p>
</main>
</body>
</html>
`;

export const APPROVALS_PAGE_STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; --line: #8c959f55; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin-bottom: 0; }
h2 { font-size: 1.25rem; }
h3 { font-size: 1.1rem; margin: 0 0 .25rem; }
.muted { color: GrayText; }
.proposal { border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
.proposal dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .75rem 0; }
.proposal dt { font-weight: 600; }
.proposal dd { margin: 0; overflow-wrap: anywhere; }
.proposal dd p { margin: 0 0 .25rem; }
.proposal code { font-size: .9em; }
.evidence { margin: 0; padding-left: 1.25rem; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; }
button { font: inherit; min-height: 44px; padding: .4rem 1rem; border-radius: 6px; border: 1px solid var(--line); cursor: pointer; }
button:focus-visible { outline: 3px solid Highlight; outline-offset: 2px; }
button:disabled { cursor: not-allowed; opacity: .6; }
button.approve { background: var(--ok); color: #fff; border-color: var(--ok); }
button.reject { background: var(--bad); color: #fff; border-color: var(--bad); }
.outcome { font-weight: 600; padding: .5rem .75rem; border-radius: 6px; border-left: 4px solid var(--line); }
.outcome-good { border-left-color: var(--ok); }
.outcome-bad { border-left-color: var(--bad); }
.outcome-neutral { border-left-color: var(--warn); }
.problem { color: var(--bad); font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const APPROVALS_PAGE_SCRIPT = `"use strict";
(function () {
  var TOKEN_KEY = "hipaa-remediate-approvals-token";
  var GOOD = ["applied", "rejected", "exempted"];
  var NEUTRAL = ["no-longer-applies", "already-decided", "expired"];
  var query = new URLSearchParams(window.location.search);
  var token = query.get("token");
  if (token) {
    // Keep the token out of the address bar, the history and any screenshot.
    window.sessionStorage.setItem(TOKEN_KEY, token);
    window.history.replaceState(null, "", window.location.pathname);
  } else {
    token = window.sessionStorage.getItem(TOKEN_KEY);
  }
  var settings = { exemption: { days: 30, minReasonLength: 10 } };

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  function time(iso) {
    var when = new Date(iso);
    return el("time", { datetime: iso, text: isNaN(when.getTime()) ? iso : when.toLocaleString() });
  }

  function announce(text) {
    document.getElementById("announcer").textContent = text;
  }

  function showProblem(text) {
    var problem = document.getElementById("problem");
    problem.textContent = text;
    problem.hidden = !text;
  }

  function api(path, options) {
    if (!token) {
      return Promise.reject(new Error("No access token: open the URL that \\"hipaa-remediate serve\\" printed, including ?token=..."));
    }
    var headers = { Authorization: "Bearer " + token, Accept: "application/json" };
    if (options && options.body) headers["Content-Type"] = "application/json";
    return fetch(path, Object.assign({ headers: headers, credentials: "omit", cache: "no-store" }, options || {})).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 401) throw new Error((body.error || "Unauthorised") + " Open the URL that \\"hipaa-remediate serve\\" printed.");
        if (!response.ok && !body.result) throw new Error(body.error || "HTTP " + response.status);
        return body;
      });
    });
  }

  function row(label, value) {
    return [el("dt", { text: label }), typeof value === "string" ? el("dd", { text: value }) : el("dd", {}, [value])];
  }

  function card(p) {
    var headingId = "proposal-" + p.id;
    var article = el("article", { class: "proposal", "aria-labelledby": headingId, "data-proposal-id": p.id });
    article.appendChild(el("h3", { id: headingId, text: p.control.title + " on " + p.resource.id }));
    article.appendChild(el("p", { text: p.finding.summary + (p.finding.confirmed ? " (confirmed against live state)" : " (from the event only)") }));

    var details = el("dl");
    var rows = [
      row("Control", p.control.id + (p.control.severity ? " (severity " + p.control.severity + ")" : "")),
      row("HIPAA", p.control.hipaa.sections.join(", ") + (p.control.hipaa.why ? " \\u2014 " + p.control.hipaa.why : "")),
      row("Resource", el("code", { text: p.resource.arn })),
    ];
    if (p.change) {
      var change = el("span", { text: p.change.name + " by " + p.change.actor + " at " });
      change.appendChild(time(p.change.time));
      rows.push(row("Change", change));
    }
    var evidence = el("ul", { class: "evidence" }, p.evidence.map(function (line) {
      return el("li", {}, [el("code", { text: line.field }), document.createTextNode(": " + line.value)]);
    }));
    rows.push(row("Evidence", p.evidence.length ? evidence : "(none recorded)"));
    var steps = el("ol", { class: "evidence" }, p.plan.steps.map(function (step) { return el("li", { text: step }); }));
    rows.push(row("The fix", el("div", {}, [el("p", { text: p.plan.summary }), steps])));
    rows.push(row("Reversible", p.plan.reversible ? "Yes: rollback restores the state captured before the change." : "No: this change cannot be rolled back."));
    var expiry = el("span", { text: "" });
    expiry.appendChild(time(p.expiresAt));
    rows.push(row("Expires", expiry));
    rows.push(row("Plan hash", el("code", { text: p.planHash })));
    rows.forEach(function (pair) { pair.forEach(function (node) { details.appendChild(node); }); });
    article.appendChild(details);

    var outcome = el("p", { class: "outcome", role: "status", hidden: "" });
    var actions = el("div", { class: "actions", role: "group", "aria-label": "Decide on this proposal" });
    [
      ["approve", "Approve", "approve"],
      ["reject", "Reject", "reject"],
      ["exempt", "Exempt for " + settings.exemption.days + " days", "secondary"],
    ].forEach(function (spec) {
      var button = el("button", { type: "button", class: spec[2], "data-action": spec[0], "aria-describedby": headingId, text: spec[1] });
      if (spec[0] === "approve" && !settings.live) {
        // Approving applies the fix, which needs AWS; say why the button cannot be used rather than fail later.
        button.disabled = true;
        button.title = "Approving needs AWS access: restart with hipaa-remediate serve --live";
      }
      button.addEventListener("click", function () { act(p, spec[0], article, actions, outcome); });
      actions.appendChild(button);
    });
    article.appendChild(actions);
    article.appendChild(outcome);
    return article;
  }

  function ask(p, kind) {
    var what = p.control.title + " on " + p.resource.arn;
    if (kind === "approve") {
      var confirmed = window.confirm(
        "Approve and apply this fix now?\\n\\n" + p.plan.summary + "\\n\\n" +
        p.plan.steps.map(function (s, i) { return (i + 1) + ". " + s; }).join("\\n") +
        "\\n\\n" + (p.plan.reversible ? "It can be rolled back." : "It cannot be rolled back."));
      return confirmed ? {} : null;
    }
    if (kind === "reject") {
      var why = window.prompt("Reject the fix for " + what + "? Nothing will be changed. Reason (optional):", "");
      if (why === null) return null;
      return why.trim() ? { reason: why.trim() } : {};
    }
    var reason = window.prompt(
      "Exempt " + p.resource.arn + " from \\"" + p.control.title + "\\" for " + settings.exemption.days +
      " days. Why? (at least " + settings.exemption.minReasonLength + " characters; recorded with your name)", "");
    if (reason === null) return null;
    if (reason.trim().length < settings.exemption.minReasonLength) {
      window.alert("An exemption needs a reason of at least " + settings.exemption.minReasonLength + " characters. Nothing was changed.");
      return null;
    }
    return { reason: reason.trim() };
  }

  function act(p, kind, article, actions, outcome) {
    var extra = ask(p, kind);
    if (extra === null) return;
    var buttons = actions.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    article.setAttribute("aria-busy", "true");
    outcome.hidden = false;
    outcome.className = "outcome";
    outcome.textContent = kind === "approve" ? "Applying the fix\\u2026" : "Recording the decision\\u2026";
    var body = Object.assign({ planHash: p.planHash }, extra);
    api("/api/proposals/" + encodeURIComponent(p.id) + "/" + kind, { method: "POST", body: JSON.stringify(body) })
      .then(function (answer) {
        var good = GOOD.indexOf(answer.result) >= 0;
        outcome.className = "outcome " + (good ? "outcome-good" : NEUTRAL.indexOf(answer.result) >= 0 ? "outcome-neutral" : "outcome-bad");
        outcome.setAttribute("data-result", answer.result);
        outcome.textContent = answer.message;
        announce(p.resource.id + ": " + answer.message);
        // A decided proposal keeps its outcome on screen and loses its buttons; a refused one may be retried.
        if (answer.proposal && answer.proposal.status !== "pending") actions.remove();
        else enable(buttons);
      })
      .catch(function (error) {
        outcome.className = "outcome outcome-bad";
        outcome.textContent = error.message;
        announce(error.message);
        enable(buttons);
      })
      .then(function () { article.removeAttribute("aria-busy"); });
  }

  function enable(buttons) {
    buttons.forEach(function (b) { b.disabled = b.getAttribute("data-action") === "approve" && !settings.live; });
  }

  function load() {
    showProblem("");
    return api("/api/proposals", { method: "GET" })
      .then(function (data) {
        settings = data;
        document.getElementById("who").textContent =
          "Deciding as " + data.operator.name + " (" + data.operator.id + ")" + (data.live ? "" : " \\u2014 offline: approving needs hipaa-remediate serve --live");
        var list = document.getElementById("proposals");
        list.replaceChildren.apply(list, data.proposals.map(card));
        document.getElementById("count").textContent = "(" + data.proposals.length + ")";
        document.getElementById("empty").hidden = data.proposals.length > 0;
      })
      .catch(function (error) { showProblem(error.message); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("refresh").addEventListener("click", load);
    load();
  });
})();
`;
