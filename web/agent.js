// The agent screen: when this agent's phone rings, the caller's handoff
// summary, what they said and why they may be upset; after the call, a
// disposition note saved with the call record; buttons for the agent's own
// state.
"use strict";

(() => {
  const { el, api, label, percent } = ivr;
  const state = {
    agentId: null,
    agent: null,
    calls: new Map(),
    // The call on the screen and the last view of it (kept after it ends).
    shown: null,
    // Calls this agent talked to that still need a note.
    talked: new Set(),
    wrapups: new Set(),
  };

  const STATES = {
    logged_out: "Logged out",
    available: "Available",
    ringing: "Ringing",
    on_call: "On a call",
    wrap_up: "Wrap-up",
    away: "Away",
  };

  function renderAgent() {
    const a = state.agent;
    const stateNode = document.getElementById("agent-state");
    if (!a) {
      stateNode.textContent = "unknown to the engine";
      stateNode.dataset.state = "";
      return;
    }
    document.getElementById("agent-name").textContent = a.name || a.id;
    stateNode.textContent = STATES[a.state] || label(a.state);
    stateNode.dataset.state = a.state;
    document.getElementById("agent-since").replaceChildren(ivr.since(a.since_unix_ms, "agent-since-time"));
    document.getElementById("agent-away").textContent = a.away ? `(${a.away})` : "";
    document.getElementById("agent-registered").textContent = a.registered ? "registered" : "not registered";
    const on = (id, yes) => (document.getElementById(id).disabled = !yes);
    on("state-login", a.state === "logged_out");
    on("state-pause", a.state !== "logged_out" && a.state !== "away");
    on("state-resume", a.state === "away");
    on("state-logout", a.state !== "logged_out");
  }

  function renderSlots(handoff) {
    const box = document.getElementById("pop-slots");
    const slots = handoff && handoff.slots && typeof handoff.slots === "object" ? handoff.slots : {};
    box.replaceChildren(
      ...Object.entries(slots)
        .filter(([, v]) => v !== null && v !== undefined && v !== "")
        .map(([k, v]) =>
        el("div", { class: "slot" }, el("dt", { text: label(k) }), el("dd", { text: typeof v === "string" ? v : JSON.stringify(v) })),
      ),
    );
  }

  // The screen pop: the call this agent's phone rings for or is talking on.
  function renderPop() {
    const pop = document.getElementById("call-pop");
    const shown = state.shown;
    document.getElementById("idle-note").hidden = !!shown;
    if (!shown) {
      pop.hidden = true;
      pop.removeAttribute("data-call-id");
      document.title = "Agent screen · IVR";
      return;
    }
    const call = state.calls.get(shown.id) || shown.view;
    shown.view = call;
    pop.hidden = false;
    pop.dataset.callId = shown.id;
    pop.dataset.stage = shown.stage;
    const stageText = { ringing: "Ringing:", on_call: "On the line:", ended: "Call ended:" }[shown.stage];
    document.getElementById("pop-status").textContent = stageText;
    document.title = shown.stage === "ringing" ? `Ringing: ${call ? call.caller : ""}` : "Agent screen · IVR";
    if (!call) {
      document.getElementById("pop-caller").textContent = shown.id;
      document.getElementById("pop-summary").textContent = "Loading the caller's details…";
      return;
    }
    document.getElementById("pop-caller").textContent = call.caller;
    document.getElementById("pop-intent").textContent = call.intent
      ? `${label(call.intent)} (${percent(call.confidence)})`
      : "no intent";
    document.getElementById("pop-queue").textContent = call.queue ? `· queue ${label(call.queue)}` : "";
    // Once the call is over its length stops counting.
    const length =
      shown.stage === "ended"
        ? ivr.duration((shown.endedAt || (shown.endedAt = ivr.serverNow())) - call.started_unix_ms)
        : ivr.since(call.started_unix_ms);
    document.getElementById("pop-time").replaceChildren("· ", length, shown.stage === "ended" ? " long" : " on the line");
    document.getElementById("pop-summary").textContent = call.summary || "No summary: the caller was not handed over with one.";
    renderSlots(call.handoff);
    document.getElementById("pop-chart").replaceChildren(ivr.agitationChart(call.agitation, call.agitation_level));
    document.getElementById("pop-agitation-level").textContent = `Agitation: ${label(call.agitation_level || "calm")}`;
    const reasons = call.agitation_reasons || [];
    document
      .getElementById("pop-reasons")
      .replaceChildren(
        ...(reasons.length ? reasons.map((r) => el("li", { class: "reason", text: r })) : [el("li", { class: "empty", text: "No sign of agitation." })]),
      );
    const lines = ivr.transcript(call.transcript, "pop-transcript-lines");
    document.getElementById("pop-transcript").replaceChildren(lines);
    lines.scrollTop = lines.scrollHeight;
  }

  // A note form for a call this agent finished.
  function addWrapup(callId, view) {
    if (state.wrapups.has(callId)) return;
    state.wrapups.add(callId);
    const note = el("textarea", { class: "disposition-note", name: "note", rows: 3, required: true, id: `note-${callId}` });
    const status = el("p", { class: "disposition-status status", role: "status" });
    const save = el("button", { type: "submit", class: "disposition-save", text: "Save note" });
    const form = el(
      "form",
      { class: "disposition panel", "data-call-id": callId },
      el("h3", { text: `Disposition: ${view ? view.caller : callId}` }),
      view && view.summary ? el("p", { class: "summary", text: view.summary }) : null,
      el("label", { for: `note-${callId}`, text: "What was done, what is left" }),
      note,
      save,
      status,
    );
    // A saved note is not sent twice; an edit can be saved as a new note.
    note.addEventListener("input", () => (save.disabled = false));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      ivr.flash(status, "Saving…");
      const path = `/api/calls/${encodeURIComponent(callId)}/disposition`;
      // The record is stored a moment after hang-up: a 404 just after the
      // call ends is retried for a few seconds.
      for (let attempt = 0; ; attempt++) {
        try {
          await api("POST", path, { note: note.value });
          ivr.flash(status, "Saved.", "ok");
          form.dataset.saved = "true";
          save.disabled = true;
          return;
        } catch (e) {
          if (e.status === 404 && attempt < 10) {
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          ivr.flash(status, `Not saved: ${e.message}`, "error");
          return;
        }
      }
    });
    document.getElementById("wrapups").prepend(form);
  }

  // Follows this agent's view: ringing or on a call shows the pop; once a
  // call they talked on is over, its note form appears.
  function follow() {
    const a = state.agent;
    if (a && a.call && (a.state === "ringing" || a.state === "on_call")) {
      if (!state.shown || state.shown.id !== a.call) state.shown = { id: a.call, view: state.calls.get(a.call) };
      state.shown.stage = a.state;
      if (a.state === "on_call") state.talked.add(a.call);
    } else if (state.shown && state.shown.stage !== "ended") {
      if (state.talked.has(state.shown.id)) state.shown.stage = "ended";
      else state.shown = null; // rang but was not picked up here
    }
    if (state.shown && state.shown.stage === "on_call" && !state.calls.has(state.shown.id)) {
      state.shown.stage = "ended";
    }
    for (const id of state.talked) {
      const over = !(a && a.call === id && a.state === "on_call") || !state.calls.has(id);
      if (over) {
        const view = state.calls.get(id) || (state.shown && state.shown.id === id ? state.shown.view : null);
        addWrapup(id, view);
        state.talked.delete(id);
      }
    }
    renderAgent();
    renderPop();
  }

  function onSnapshot(snapshot) {
    ivr.syncClock(snapshot.now_unix_ms);
    state.calls = new Map(snapshot.calls.map((c) => [c.id, c]));
    state.agent = snapshot.agents.find((a) => a.id === state.agentId) || null;
    follow();
  }

  function onUpdate(update) {
    if (update.type === "call") state.calls.set(update.id, update);
    else if (update.type === "call_gone") state.calls.delete(update.call);
    else if (update.type === "agent" && update.id === state.agentId) state.agent = update;
    else return;
    follow();
  }

  async function setState(change) {
    const status = document.getElementById("state-status");
    try {
      await api("POST", `/api/agents/${encodeURIComponent(state.agentId)}/state`, { state: change });
      ivr.flash(status, "", "ok");
    } catch (e) {
      ivr.flash(status, `Not changed: ${e.message}`, "error");
    }
  }

  // A supervisor has no agent of their own: they pick whose screen to watch.
  async function pickAgent() {
    const board = await api("GET", "/api/board");
    const form = document.getElementById("agent-pick");
    const select = document.getElementById("agent-pick-select");
    select.replaceChildren(...board.agents.map((a) => el("option", { value: a.id, text: a.name || a.id })));
    form.hidden = false;
    return new Promise((resolve) =>
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        form.hidden = true;
        resolve(select.value);
      }),
    );
  }

  async function main() {
    const me = await ivr.signedIn();
    ivr.showUser(me);
    const wanted = new URLSearchParams(location.search).get("agent");
    state.agentId = me.agent || wanted || (await pickAgent());
    document.getElementById("agent-screen").hidden = false;
    for (const button of document.querySelectorAll("#agent-panel [data-change]")) {
      button.addEventListener("click", () => setState(button.dataset.change));
    }
    renderAgent();
    renderPop();
    ivr.live(onSnapshot, onUpdate);
  }

  main().catch((e) => {
    document.getElementById("page-error").textContent = `The agent screen cannot start: ${e.message}`;
  });
})();
