// The meeting page: ask the application for a room, a signed Janus token and TURN
// credentials (only a logged-in teleworker gets them), then publish the camera and
// subscribe to every other participant through Janus' VideoRoom. `?ice=relay` sends all
// media through the TURN server (for networks that block direct UDP). When the
// administration allows recording: the consent button (for the meeting joined, or the one
// typed before joining), start and stop, and the "recording" indicator, kept up to date
// every 2 s; a recording starts only once every participant has consented (A14).
"use strict";
(function () {
  const text = window.VISIO_TEXT || {};
  const state = { pcs: {}, errors: [], joined: false, room: null, feeds: [],
                  recording: false, consented: false, recError: null };
  window.visio = state;
  const status = (msg) => { document.getElementById("status").textContent = msg; };
  const fail = (msg) => { state.errors.push(String(msg)); status(String(msg)); };
  const relay = new URLSearchParams(location.search).get("ice") === "relay";

  function video(id, track, muted, label) {
    let el = document.getElementById("v-" + id);
    if (!el) {
      const figure = document.createElement("figure");
      const caption = document.createElement("figcaption");
      caption.textContent = label;  // a display name: text, never HTML
      el = document.createElement("video");
      el.id = "v-" + id; el.autoplay = true; el.playsInline = true; el.muted = muted;
      figure.appendChild(el); figure.appendChild(caption);
      document.getElementById("videos").appendChild(figure);
    }
    if (!el.srcObject) el.srcObject = new MediaStream();
    el.srcObject.addTrack(track);
  }

  function subscribe(janus, grant, pin, feed) {
    let handle = null;
    janus.attach({
      plugin: "janus.plugin.videoroom",
      success: (h) => {
        handle = h;
        const join = { request: "join", ptype: "subscriber", room: grant.room, streams: [{ feed: feed.id }] };
        if (pin) join.pin = pin;
        handle.send({ message: join });
      },
      error: fail,
      onmessage: (msg, jsep) => {
        if (msg.error) fail(msg.error);
        if (jsep) {
          handle.createAnswer({
            jsep: jsep, tracks: [],
            success: (answer) => handle.send({ message: { request: "start", room: grant.room }, jsep: answer }),
            error: fail,
          });
        }
      },
      webrtcState: (up) => { if (up) state.pcs["sub-" + feed.id] = handle.webrtcStuff.pc; },
      onremotetrack: (track, mid, on) => { if (on) video("feed-" + feed.id, track, true, feed.display); },
    });
  }

  function publish(janus, grant, pin) {
    let handle = null;
    janus.attach({
      plugin: "janus.plugin.videoroom",
      success: (h) => {
        handle = h;
        const join = { request: "join", ptype: "publisher", room: grant.room, display: grant.display };
        if (pin) join.pin = pin;
        handle.send({ message: join });
      },
      error: fail,
      onmessage: (msg, jsep) => {
        if (msg.error) { fail(msg.error); return; }
        if (msg.videoroom === "joined") {
          state.joined = true;
          status(grant.display + " → " + grant.room);
          show(state);
          handle.createOffer({
            tracks: [{ type: "audio", capture: true, recv: false }, { type: "video", capture: true, recv: false }],
            success: (offer) => handle.send({ message: { request: "configure", audio: true, video: true }, jsep: offer }),
            error: fail,
          });
        }
        for (const feed of msg.publishers || []) {
          state.feeds.push(feed.display);
          subscribe(janus, grant, pin, feed);
        }
        if (jsep) handle.handleRemoteJsep({ jsep: jsep });
      },
      webrtcState: (up) => { if (up) state.pcs.publisher = handle.webrtcStuff.pc; },
      onlocaltrack: (track, on) => { if (on && track.kind === "video") video("me", track, true, grant.display + " (" + (text.me || "me") + ")"); },
    });
  }

  // --- recording with every participant's consent (A14) ---------------------------------
  const el = (id) => document.getElementById(id);
  const recordingOn = !!el("recording");

  async function api(path, body) {
    const answer = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    let data = {};
    try { data = await answer.json(); } catch (e) { data = { error: String(answer.status) }; }
    return { ok: answer.ok, data: data };
  }

  function refusal(data) {
    state.recError = data.code || "error";
    let msg = text[data.code] || data.error || String(data.code);
    if (data.missing && data.missing.length) msg += " " + data.missing.join(", ");
    const line = el("rec-error");
    if (line) { line.textContent = msg; line.hidden = false; }  // text, never HTML
    else fail(msg);
  }

  function show(view) {
    state.recording = !!view.recording;
    state.consented = !!view.consented;
    if (!recordingOn) return;
    el("rec-indicator").hidden = !state.recording;
    el("consent").textContent = state.consented ? text.withdraw : text.consent;
    el("consent").setAttribute("aria-pressed", String(state.consented));
    el("consent-state").textContent = state.consented ? text.consented : "";
    el("record-start").hidden = !state.joined || state.recording;
    el("record-stop").hidden = !state.joined || !state.recording;
  }

  async function recordingRequest(path, body) {
    const room = state.room || document.querySelector("#join input[name=room]").value.trim();
    const result = await api(path, Object.assign({ room: room }, body));
    if (!result.ok) { refusal(result.data); return; }
    state.recError = null;
    el("rec-error").hidden = true;
    show(result.data);
  }

  if (recordingOn) {
    el("consent").addEventListener("click", () => {
      recordingRequest("/api/consent", { consent: !state.consented }).catch(fail);
    });
    el("record-start").addEventListener("click", () => {
      recordingRequest("/api/recording", { record: true }).catch(fail);
    });
    el("record-stop").addEventListener("click", () => {
      recordingRequest("/api/recording", { record: false }).catch(fail);
    });
    setInterval(() => {
      if (!state.room) return;
      api("/api/state", { room: state.room }).then((r) => { if (r.ok) show(r.data); }).catch(() => {});
    }, 2000);
  }

  async function join(event) {
    event.preventDefault();
    const form = event.target;
    const room = form.room.value.trim(), pin = form.pin.value.trim();
    const answer = await fetch("/api/join", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ room: room, pin: pin }),
    });
    const grant = await answer.json();
    if (!answer.ok) {
      if (grant.code) refusal(grant); else fail(grant.error || answer.status);
      return;
    }
    state.room = grant.room;
    const server = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + grant.server;
    Janus.init({
      debug: false,
      callback: () => {
        const janus = new Janus({
          server: [server, grant.fallback], token: grant.token, iceServers: grant.iceServers,
          iceTransportPolicy: relay ? "relay" : "all",
          success: () => publish(janus, grant, pin),
          error: fail,
        });
        state.janus = janus;
      },
    });
  }

  window.addEventListener("pagehide", () => {
    try {
      if (state.room) navigator.sendBeacon("/api/leave", new Blob([JSON.stringify({ room: state.room })], { type: "application/json" }));
    } catch (e) { /* the page is going away */ }
  });
  document.getElementById("join").addEventListener("submit", (e) => { join(e).catch(fail); });
})();
