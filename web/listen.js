// Listening in: a supervisor hears a live call in the browser, over WebRTC
// (PCMU, both sides of the call mixed). Adds a "Listen" button to every call
// card of the board; the engine answers the page's offer at
// POST /api/calls/{id}/listen.
(() => {
  "use strict";

  let supervisor = null; // unknown until signed in
  let asking = false;
  const listening = new Map(); // call id -> { pc, audio }

  async function whoAmI() {
    if (asking) return;
    asking = true;
    try {
      const response = await fetch("/api/me", { credentials: "same-origin" });
      if (response.ok) supervisor = (await response.json()).role === "supervisor";
    } finally {
      asking = false;
    }
    decorate();
  }

  function gathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const limit = setTimeout(resolve, 2000);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") {
          clearTimeout(limit);
          resolve();
        }
      });
    });
  }

  async function start(id) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const audio = new Audio();
    audio.autoplay = true;
    pc.addEventListener("track", (event) => {
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      audio.play().catch(() => {});
    });
    listening.set(id, { pc, audio });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const response = await fetch(`/api/calls/${encodeURIComponent(id)}/listen`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      stop(id);
      throw new Error(answer.error || response.statusText);
    }
    await pc.setRemoteDescription(answer);
    pc.addEventListener("connectionstatechange", () => {
      if (["failed", "closed", "disconnected"].includes(pc.connectionState)) stop(id);
    });
  }

  function stop(id) {
    const entry = listening.get(id);
    if (!entry) return;
    listening.delete(id);
    entry.pc.close();
    entry.audio.srcObject = null;
    decorate();
  }

  async function toggle(id) {
    if (listening.has(id)) {
      stop(id);
      return;
    }
    try {
      await start(id);
    } catch (e) {
      const status = document.getElementById("action-status");
      if (status) status.textContent = `Cannot listen in: ${e.message}`;
    }
    decorate();
  }

  // Cards are redrawn on every update: the button is added again each time,
  // while the connection lives here.
  function decorate() {
    const cards = document.querySelectorAll("article.call[data-call-id]");
    if (supervisor === null) {
      if (cards.length) whoAmI();
      return;
    }
    if (!supervisor) return;
    for (const card of cards) {
      const id = card.dataset.callId;
      let button = card.querySelector("button.listen");
      if (!button) {
        button = document.createElement("button");
        button.type = "button";
        button.className = "listen";
        button.addEventListener("click", () => toggle(id));
        (card.querySelector("header") || card).append(button);
      }
      const on = listening.has(id);
      const text = on ? "Stop listening" : "Listen";
      if (button.textContent !== text) button.textContent = text;
      if (button.getAttribute("aria-pressed") !== String(on)) {
        button.setAttribute("aria-pressed", String(on));
      }
    }
  }

  // For the page's tests: what the browser received for a call.
  window.ivrListenStats = async (id) => {
    const entry = listening.get(id);
    if (!entry) return null;
    let packets = 0;
    (await entry.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived || 0;
    });
    return { state: entry.pc.connectionState, packets };
  };

  new MutationObserver(decorate).observe(document.body, { childList: true, subtree: true });
})();
