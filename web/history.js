// Call history: search the stored calls, open one to read what was said,
// the summary, every decision and event, and play both recordings.
"use strict";

(() => {
  const { el, api, label, percent, duration, clockTime } = ivr;

  function query() {
    const params = new URLSearchParams();
    for (const name of ["number", "intent", "queue", "from", "to"]) {
      const value = document.getElementById(`search-${name}`).value.trim();
      if (value) params.set(name, value);
    }
    params.set("limit", "200");
    return params;
  }

  function lengthOf(call) {
    return call.ended_unix_ms ? duration(call.ended_unix_ms - call.started_unix_ms) : "live";
  }

  async function search(event) {
    if (event) event.preventDefault();
    const status = document.getElementById("search-status");
    const body = document.querySelector("#results tbody");
    ivr.flash(status, "Searching…");
    let calls;
    try {
      calls = await api("GET", `/api/calls?${query()}`);
    } catch (e) {
      ivr.flash(status, `Search failed: ${e.message}`, "error");
      return;
    }
    ivr.flash(status, `${calls.length} call${calls.length === 1 ? "" : "s"} found.`, "ok");
    body.replaceChildren(
      ...calls.map((call) => {
        const decision = call.final_decision || {};
        return el(
          "tr",
          { class: "result", "data-call-id": call.id },
          el("td", { text: clockTime(call.started_unix_ms) }),
          el("td", { class: "caller", text: call.caller }),
          el("td", { class: "intent", text: decision.intent ? label(decision.intent) : "–" }),
          el("td", { text: decision.route ? label(decision.route) : "–" }),
          el("td", { class: "queue", text: call.queue ? label(call.queue) : "" }),
          el("td", { text: lengthOf(call) }),
          el("td", { text: label(call.end_reason || "") }),
          el(
            "td",
            {},
            el("button", { type: "button", class: "open", text: "Open", onclick: () => open(call.id) }),
          ),
        );
      }),
    );
  }

  function table(cls, headings, rows) {
    if (rows.length === 0) return el("p", { class: `empty ${cls}`, text: "None." });
    return el(
      "table",
      { class: cls, id: `detail-${cls}` },
      el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))),
    );
  }

  const at = (ms) => `${(ms / 1000).toFixed(1)} s`;

  // The agents' notes on the call, oldest first.
  function dispositions(record) {
    const notes = record.dispositions || [];
    return el(
      "section",
      { id: "detail-dispositions" },
      el("h3", { text: "Disposition notes" }),
      notes.length
        ? el(
            "ul",
            { class: "notes" },
            notes.map((n) =>
              el(
                "li",
                { class: "disposition-entry" },
                el("span", { class: "note", text: n.note }),
                el("span", { class: "by", text: ` (${n.user}${n.agent && n.agent !== n.user ? ` as ${n.agent}` : ""}, ${clockTime(n.at_unix_ms)})` }),
              ),
            ),
          )
        : el("p", { class: "empty", text: "No note yet." }),
    );
  }

  function recording(record, side, file) {
    if (!file) return el("p", { class: "empty", text: `No ${side} recording.` });
    const src = `/api/calls/${encodeURIComponent(record.id)}/recording/${side}`;
    return el(
      "figure",
      { class: "recording" },
      el("figcaption", { text: side === "caller" ? "Caller" : "Engine" }),
      el("audio", { controls: true, preload: "none", src, id: `recording-${side}` }),
      " ",
      el("a", { href: src, download: `${record.id}-${side}.wav`, text: "download" }),
    );
  }

  async function open(id) {
    const detail = document.getElementById("detail");
    detail.hidden = false;
    detail.replaceChildren(el("p", { text: "Loading…" }));
    let record;
    try {
      record = await api("GET", `/api/calls/${encodeURIComponent(id)}`);
    } catch (e) {
      detail.replaceChildren(el("p", { class: "error", text: `Cannot open the call: ${e.message}` }));
      return;
    }
    history.replaceState(null, "", `?call=${encodeURIComponent(id)}`);
    const turns = record.turns || [];
    detail.dataset.callId = record.id;
    detail.replaceChildren(
      el("h2", { id: "detail-title" }, `${record.caller} → ${record.called}`),
      el(
        "p",
        { class: "meta" },
        `${clockTime(record.started_unix_ms)} · ${lengthOf(record)} · ${label(record.end_reason || "")}`,
        record.queue ? ` · queue ${label(record.queue)}` : "",
        record.answered_by ? ` · answered by ${record.answered_by}` : "",
        ` · peak agitation ${percent(record.agitation_peak)}`,
      ),
      el("h3", { text: "Summary" }),
      el("p", { id: "detail-summary", class: "summary", text: record.summary || "No handoff summary." }),
      dispositions(record),
      el("h3", { text: "Recordings" }),
      el("div", { class: "recordings" }, recording(record, "caller", record.recording_caller), recording(record, "engine", record.recording_engine)),
      el("h3", { text: "What the caller said" }),
      table(
        "turns",
        ["At", "Said", "Intent", "Confidence", "Agitation", "Why"],
        turns.map((t) => [at(t.start_ms), t.text, label(t.intent || "–"), percent(t.confidence), percent(t.agitation), (t.reasons || []).join("; ")]),
      ),
      el("h3", { text: "Decision trail" }),
      table(
        "decisions",
        ["At", "Intent", "Confidence", "Route", "Target", "Reason", "Agitated"],
        (record.decisions || []).map((d) => [at(d.at_ms), label(d.intent || "–"), percent(d.confidence), label(d.route), d.target || "", label(d.reason), d.agitated ? "yes" : "no"]),
      ),
      el("h3", { text: "Events" }),
      table("events", ["At", "Event", "Detail"], (record.events || []).map((e) => [at(e.at_ms), label(e.kind), e.detail])),
    );
    detail.scrollIntoView({ block: "start" });
  }

  async function main() {
    const me = await ivr.signedIn();
    ivr.showUser(me);
    document.getElementById("history").hidden = false;
    document.getElementById("search").addEventListener("submit", search);
    await search();
    const wanted = new URLSearchParams(location.search).get("call");
    if (wanted) await open(wanted);
  }

  main().catch((e) => {
    document.getElementById("page-error").textContent = `History cannot start: ${e.message}`;
  });
})();
