// The supervisor board: every live call, queue and agent, kept current by
// the event stream. Supervisors also get actions on waiting callers; for
// agents the board is read-only.
"use strict";

(() => {
  const { el, api, label, percent, duration, since } = ivr;
  const state = { me: null, calls: new Map(), queues: new Map(), agents: new Map() };
  // The queue picked in each caller's "move to" list, kept across redraws.
  const moveChoice = new Map();

  const PHASES = {
    in_menu: "In menu",
    waiting: "Waiting",
    ringing: "Ringing agent",
    with_agent: "With agent",
    ended: "Ended",
  };

  const canAct = () => state.me && state.me.role === "supervisor";

  // Alerted calls first, then the longest in their state (as the engine
  // orders the snapshot; updates arrive one at a time so order again here).
  function orderedCalls() {
    return [...state.calls.values()].sort((a, b) => {
      if (!!a.alert !== !!b.alert) return a.alert ? -1 : 1;
      return a.phase_since_unix_ms - b.phase_since_unix_ms;
    });
  }

  function callCard(call) {
    const intent = call.intent
      ? el(
          "span",
          { class: "intent" },
          el("span", { class: "intent-name", text: label(call.intent) }),
          " ",
          el("span", { class: "confidence", text: percent(call.confidence) }),
        )
      : el("span", { class: "intent none", text: "no intent yet" });
    const where = [
      call.queue ? el("span", { class: "queue-name", text: `queue ${label(call.queue)}` }) : null,
      call.agent ? el("span", { class: "agent-name", text: `agent ${call.agent}` }) : null,
    ];
    return el(
      "article",
      {
        class: `call phase-${call.phase}${call.alert ? " alert" : ""} agitation-${call.agitation_level || "calm"}`,
        id: `call-${call.id}`,
        "data-call-id": call.id,
        "data-phase": call.phase,
        "aria-label": `Call from ${call.caller}`,
      },
      el(
        "header",
        {},
        el("span", { class: "phase", text: PHASES[call.phase] || label(call.phase) }),
        el("span", { class: "caller", text: call.caller || "unknown" }),
        since(call.phase_since_unix_ms),
      ),
      call.alert ? el("p", { class: "alert-reason", role: "alert", text: call.alert }) : null,
      el("p", { class: "routing" }, intent, " ", ...where),
      el(
        "div",
        { class: "agitation" },
        ivr.agitationChart(call.agitation, call.agitation_level),
        el(
          "span",
          { class: "agitation-level", text: label(call.agitation_level || "calm") },
        ),
        call.agitation_reasons && call.agitation_reasons.length
          ? el("span", { class: "agitation-reasons", text: call.agitation_reasons.join("; ") })
          : null,
      ),
      call.summary ? el("p", { class: "summary", text: call.summary }) : null,
      ivr.transcript(call.transcript),
    );
  }

  function renderCalls() {
    const calls = orderedCalls();
    document.getElementById("calls-count").textContent = `(${calls.length})`;
    const box = document.getElementById("calls");
    if (calls.length === 0) {
      box.replaceChildren(el("p", { class: "empty", id: "no-calls", text: "No live calls." }));
      return;
    }
    box.replaceChildren(...calls.map(callCard));
    // The newest words are at the bottom of a long conversation.
    for (const list of box.querySelectorAll(".transcript")) list.scrollTop = list.scrollHeight;
  }

  async function act(path, body, done) {
    const status = document.getElementById("action-status");
    try {
      await api("POST", path, body);
      ivr.flash(status, done, "ok");
    } catch (e) {
      ivr.flash(status, `Not done: ${e.message}`, "error");
    }
  }

  function waitingActions(queue, waiting) {
    if (!canAct()) return null;
    const others = [...state.queues.keys()].filter((q) => q !== queue.name);
    const select = el(
      "select",
      {
        class: "move-to",
        "aria-label": `Move ${waiting.caller} to queue`,
        onchange: (e) => moveChoice.set(waiting.call, e.target.value),
      },
      others.map((q) => el("option", { value: q, text: label(q) })),
    );
    if (moveChoice.has(waiting.call) && others.includes(moveChoice.get(waiting.call))) {
      select.value = moveChoice.get(waiting.call);
    }
    return el(
      "div",
      { class: "actions" },
      others.length
        ? [
            select,
            el("button", {
              type: "button",
              class: "move",
              text: "Move",
              onclick: () =>
                act(
                  `/api/calls/${encodeURIComponent(waiting.call)}/move`,
                  { queue: select.value },
                  `Moved ${waiting.caller} to ${label(select.value)}.`,
                ),
            }),
          ]
        : null,
      el("button", {
        type: "button",
        class: "to-front",
        text: "To front",
        disabled: waiting.position === 1,
        onclick: () =>
          act(`/api/calls/${encodeURIComponent(waiting.call)}/front`, undefined, `${waiting.caller} is next.`),
      }),
      el("button", {
        type: "button",
        class: "end-call danger",
        text: "End call",
        onclick: () => {
          if (confirm(`Hang up on ${waiting.caller}?`)) {
            act(`/api/calls/${encodeURIComponent(waiting.call)}/end`, undefined, `Ended the call from ${waiting.caller}.`);
          }
        },
      }),
    );
  }

  function waitingRow(queue, waiting) {
    const started = waiting.waiting_since_unix_ms;
    const flags = [
      waiting.ringing ? el("span", { class: "ringing", text: `ringing ${waiting.ringing}` }) : null,
      waiting.callback ? el("span", { class: "callback", text: "callback booked" }) : null,
    ];
    const overTarget =
      queue.target_answer_s > 0 && started && ivr.serverNow() - started > queue.target_answer_s * 1000;
    return el(
      "li",
      {
        class: `waiting-caller${overTarget ? " over-target" : ""}`,
        "data-call-id": waiting.call,
        "data-position": waiting.position,
      },
      el(
        "div",
        { class: "line" },
        el("span", { class: "position", text: `#${waiting.position}` }),
        el("span", { class: "caller", text: waiting.caller }),
        el("span", { class: "waited" }, "waiting ", since(started)),
        el("span", { class: "expected", text: `expected ${duration(waiting.expected_wait_ms)}` }),
        ...flags,
      ),
      el("p", { class: "why", text: waiting.why }),
      waiting.summary ? el("p", { class: "summary", text: waiting.summary }) : null,
      waitingActions(queue, waiting),
    );
  }

  // The longest wait keeps counting on the page between updates: it is
  // the time since the earliest caller still on the line joined.
  function longestWait(queue) {
    const since = (queue.waiting || [])
      .filter((w) => !w.callback && w.waiting_since_unix_ms)
      .map((w) => w.waiting_since_unix_ms);
    return since.length ? ivr.since(Math.min(...since)) : duration(queue.longest_wait_ms);
  }

  function queueCard(queue) {
    const stat = (cls, name, value) =>
      el("div", { class: `stat ${cls}` }, el("dt", { text: name }), el("dd", {}, value));
    const sl = queue.service_level === null || queue.service_level === undefined ? "–" : percent(queue.service_level);
    const waiting = queue.waiting || [];
    return el(
      "section",
      { class: "queue", id: `queue-${queue.name}`, "data-queue": queue.name },
      el("h3", {}, label(queue.name), " ", el("span", { class: "count", text: `${waiting.length} waiting` })),
      el(
        "dl",
        { class: "stats" },
        stat("longest-wait", "Longest wait", longestWait(queue)),
        stat("expected-wait", "Expected wait", duration(queue.expected_wait_ms)),
        stat("service-level", `In ${queue.target_answer_s} s today`, sl),
        stat("answered", "Answered", String(queue.answered_today)),
        stat("abandoned", "Abandoned", String(queue.abandoned_today)),
      ),
      waiting.length
        ? el("ol", { class: "waiting" }, waiting.map((w) => waitingRow(queue, w)))
        : el("p", { class: "empty", text: "Nobody waiting." }),
    );
  }

  function renderQueues() {
    const box = document.getElementById("queues");
    const queues = [...state.queues.values()].sort((a, b) => a.name.localeCompare(b.name));
    box.replaceChildren(...queues.map(queueCard));
  }

  const AGENT_STATES = {
    logged_out: "Logged out",
    available: "Available",
    ringing: "Ringing",
    on_call: "On a call",
    wrap_up: "Wrap-up",
    away: "Away",
  };

  function renderAgents() {
    const body = document.querySelector("#agents tbody");
    const agents = [...state.agents.values()].sort((a, b) => a.id.localeCompare(b.id));
    body.replaceChildren(
      ...agents.map((a) =>
        el(
          "tr",
          { class: `agent state-${a.state}`, id: `agent-${a.id}`, "data-agent-id": a.id },
          el("th", { scope: "row", text: a.name || a.id }),
          el(
            "td",
            { class: "state" },
            AGENT_STATES[a.state] || label(a.state),
            a.away ? el("span", { class: "away", text: ` (${a.away})` }) : null,
          ),
          el("td", {}, since(a.since_unix_ms)),
          el("td", { class: "agent-call", text: a.call ? (state.calls.get(a.call) || {}).caller || a.call : "" }),
          el("td", { class: "registered", text: a.registered ? "registered" : "not registered" }),
          el("td", { text: String(a.calls_answered || 0) }),
        ),
      ),
    );
    if (agents.length === 0) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty", text: "No agents configured." })));
  }

  function onSnapshot(snapshot) {
    ivr.syncClock(snapshot.now_unix_ms);
    state.calls = new Map(snapshot.calls.map((c) => [c.id, c]));
    state.queues = new Map(snapshot.queues.map((q) => [q.name, q]));
    state.agents = new Map(snapshot.agents.map((a) => [a.id, a]));
    renderCalls();
    renderQueues();
    renderAgents();
  }

  function onUpdate(update) {
    switch (update.type) {
      case "call":
        state.calls.set(update.id, update);
        renderCalls();
        renderAgents();
        break;
      case "call_gone":
        state.calls.delete(update.call);
        moveChoice.delete(update.call);
        renderCalls();
        break;
      case "queue":
        state.queues.set(update.name, update);
        renderQueues();
        break;
      case "agent":
        state.agents.set(update.id, update);
        renderAgents();
        break;
    }
  }

  async function main() {
    state.me = await ivr.signedIn();
    ivr.showUser(state.me);
    document.getElementById("board").hidden = false;
    ivr.live(onSnapshot, onUpdate);
  }

  main().catch((e) => {
    document.getElementById("page-error").textContent = `The board cannot start: ${e.message}`;
  });
})();
