// Shared by the board, the agent screen and the history page: the API
// client, the login form, the live event stream, formatting and the
// agitation chart. Plain DOM, no framework: the engine serves these files
// as they are.
"use strict";

const ivr = (() => {
  // Builds an element; text goes in as text, never as HTML, so nothing a
  // caller says can inject markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // JSON in, JSON out; the session cookie goes along (same origin).
  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "the engine cannot be reached");
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.error) || text || response.statusText;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  // Shows the login form until the user is signed in; resolves with /api/me.
  async function signedIn() {
    try {
      return await api("GET", "/api/me");
    } catch (e) {
      if (e.status !== 401) throw e;
    }
    return new Promise((resolve) => {
      const form = document.getElementById("login");
      const error = document.getElementById("login-error");
      form.hidden = false;
      document.getElementById("login-user").focus();
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          await api("POST", "/api/login", {
            user: document.getElementById("login-user").value,
            password: document.getElementById("login-password").value,
          });
          const me = await api("GET", "/api/me");
          form.hidden = true;
          document.getElementById("login-password").value = "";
          resolve(me);
        } catch (e) {
          error.textContent = e.status === 401 ? "Wrong user name or password." : e.message;
        }
      });
    });
  }

  // Fills the header: who is signed in, and a sign-out button.
  function showUser(me) {
    const who = document.getElementById("who");
    who.replaceChildren(
      el("span", { id: "who-name", text: me.user }),
      " ",
      el("span", { id: "who-role", class: "role", text: me.role }),
      " ",
      el("button", {
        id: "logout",
        type: "button",
        class: "quiet",
        text: "Sign out",
        onclick: async () => {
          try {
            await api("POST", "/api/logout");
          } finally {
            location.reload();
          }
        },
      }),
    );
    document.body.dataset.role = me.role;
  }

  // The board's event stream: `onSnapshot` gets the first message (and a
  // fresh one after a reconnect), `onUpdate` every change after it. The
  // connection state is shown in #conn.
  function live(onSnapshot, onUpdate) {
    const conn = document.getElementById("conn");
    let delay = 500;
    const setState = (state, text) => {
      if (!conn) return;
      conn.dataset.state = state;
      conn.textContent = text;
    };
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}/api/events`);
      setState("connecting", "Connecting…");
      socket.onopen = () => {
        delay = 500;
        setState("live", "Live");
      };
      socket.onmessage = (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (message.type === "snapshot") onSnapshot(message);
        else onUpdate(message);
      };
      socket.onclose = async () => {
        setState("down", "Reconnecting…");
        // A session that expired or was signed out elsewhere cannot
        // reconnect: show the sign-in form again instead of retrying.
        try {
          await api("GET", "/api/me");
        } catch (e) {
          if (e.status === 401) {
            location.reload();
            return;
          }
        }
        // Back off up to 5 s so a restarting engine is not hammered.
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 5000);
      };
      socket.onerror = () => socket.close();
    };
    connect();
  }

  // The engine's clock as the page sees it: durations are measured against
  // the server's time so a skewed desktop clock does not shift them.
  let skewMs = 0;
  function syncClock(serverNowMs) {
    if (typeof serverNowMs === "number") skewMs = serverNowMs - Date.now();
  }
  function serverNow() {
    return Date.now() + skewMs;
  }

  function duration(ms) {
    if (!(ms >= 0)) ms = 0;
    const s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }

  // Every element with data-since (Unix ms) shows the time since then.
  function tick() {
    const now = serverNow();
    for (const node of document.querySelectorAll("[data-since]")) {
      node.textContent = duration(now - Number(node.dataset.since));
    }
  }
  setInterval(tick, 1000);

  function since(unixMs, id) {
    return el("span", { class: "since", id, "data-since": unixMs, text: duration(serverNow() - unixMs) });
  }

  function clockTime(unixMs) {
    return new Date(unixMs).toLocaleString();
  }

  function percent(x) {
    return `${Math.round((x || 0) * 100)}%`;
  }

  function label(name) {
    return (name || "").replace(/_/g, " ");
  }

  // The agitation trend: one point per utterance, 0 (calm) to 1, with the
  // elevated and high bands shaded so the line reads at a glance.
  const SVG = "http://www.w3.org/2000/svg";
  function agitationChart(points, level) {
    const w = 120;
    const h = 32;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", `agitation-chart level-${level || "calm"}`);
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.setAttribute("role", "img");
    const scores = (points || []).map((p) => Math.max(0, Math.min(1, p.score || 0)));
    const title = document.createElementNS(SVG, "title");
    title.textContent = scores.length
      ? `Agitation ${label(level)}: ${scores.map((s) => s.toFixed(2)).join(", ")}`
      : "No agitation reading yet";
    svg.append(title);
    const band = (from, to, cls) => {
      const r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", 0);
      r.setAttribute("width", w);
      r.setAttribute("y", (1 - to) * h);
      r.setAttribute("height", (to - from) * h);
      r.setAttribute("class", cls);
      svg.append(r);
    };
    band(0.3, 0.6, "band-elevated");
    band(0.6, 1, "band-high");
    if (scores.length > 0) {
      // One reading is drawn as a level line: the trend so far is flat.
      const series = scores.length > 1 ? scores : [scores[0], scores[0]];
      const step = (w - 6) / (series.length - 1);
      const xy = series.map((s, i) => [3 + i * step, 3 + (1 - s) * (h - 6)]);
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
      line.setAttribute("class", "trend");
      svg.append(line);
      const [lx, ly] = xy[xy.length - 1];
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", lx.toFixed(1));
      dot.setAttribute("cy", ly.toFixed(1));
      dot.setAttribute("r", 2.5);
      dot.setAttribute("class", "last");
      svg.append(dot);
    }
    return svg;
  }

  // A conversation as a list: caller lines and engine lines told apart.
  function transcript(lines, id) {
    const list = el("ol", { class: "transcript", id, "aria-live": "polite" });
    for (const line of lines || []) {
      list.append(
        el(
          "li",
          { class: `said who-${line.who}` },
          el("span", { class: "who", text: line.who === "caller" ? "Caller" : "Engine" }),
          " ",
          el("span", { class: "text", text: line.text }),
        ),
      );
    }
    if (!lines || lines.length === 0) list.append(el("li", { class: "empty", text: "Nothing said yet." }));
    return list;
  }

  function flash(node, text, kind) {
    node.textContent = text;
    node.dataset.kind = kind || "info";
  }

  return {
    el,
    api,
    ApiError,
    signedIn,
    showUser,
    live,
    syncClock,
    serverNow,
    duration,
    since,
    clockTime,
    percent,
    label,
    agitationChart,
    transcript,
    flash,
  };
})();
