"use strict";
// The show panel: every button is a registry command (POST /api/command with the CSRF
// token); the show's state arrives over the WebSocket (/ws) as the whole state once, then
// only what changed. The page says when the connection is lost and reconnects.
const $ = (id) => document.getElementById(id);
const page = (location.pathname.replace(/^\//, "") || "operator");
const state = {};
let csrf = "";
let selectedCue = null;
let backoff = 500;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function showError(message, level = "error") {
  const item = el("li", {class: level}, new Date().toLocaleTimeString() + "  " + message);
  item.addEventListener("click", () => item.remove());
  $("errors").prepend(item);
  while ($("errors").children.length > 5) $("errors").lastChild.remove();
}

async function api(path, options = {}) {
  const response = await fetch(path, {credentials: "same-origin", ...options});
  if (response.status === 401) { location.assign("/login?next=" + location.pathname); throw new Error("logged out"); }
  return response;
}

async function command(name, args = [], path = undefined) {
  try {
    const response = await api("/api/command", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({name, args, path}),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !body.ok) showError(body.message || `${name}: refused (${response.status})`);
    return body;
  } catch (e) {
    if (e.message !== "logged out") showError(`${name}: the show does not answer`);
  }
}

function setConnection(up, text) {
  const c = $("connection");
  c.textContent = text;
  c.className = "conn " + (up ? "up" : "down");
  document.body.classList.toggle("offline", !up);
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?csrf=${encodeURIComponent(csrf)}`);
  ws.onopen = () => { backoff = 500; setConnection(true, "connected"); };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "state") { Object.assign(state, message.data); render(message.data); }
    else if (message.type === "thumb") updateThumb(message.output, message.seq);
    else if (message.type === "error") showError(message.message, message.level);
  };
  ws.onclose = () => {
    setConnection(false, "disconnected — reconnecting…");
    setTimeout(async () => {
      try { await loadSession(); } catch (e) { /* still down */ }
      connect();
    }, backoff);
    backoff = Math.min(backoff * 2, 5000);
  };
}

async function loadSession() {
  const response = await api("/api/session");
  const body = await response.json();
  csrf = body.csrf;
}

// -- rendering the state

function render(changed) {
  if ("show" in changed) { $("show-name").textContent = state.show; document.title = `${state.show} — panel`; }
  if ("fps" in changed) $("fps").textContent = state.fps.toFixed(1);
  if ("late_frames" in changed) $("late").textContent = state.late_frames;
  if ("locked" in changed) { $("locked").hidden = !state.locked; document.body.classList.toggle("locked", state.locked); }
  if ("cue" in changed) $("cue").textContent = state.cue || "–";
  if ("next_cue" in changed) $("next-cue").textContent = state.next_cue || "–";
  if ("progress" in changed) $("progress").value = state.progress;
  if ("master_target" in changed && document.activeElement !== $("master")) $("master").value = state.master_target;
  if ("master" in changed) $("master-value").textContent = Math.round(state.master * 100) + "%";
  if ("blackout" in changed) $("blackout").classList.toggle("on", state.blackout);
  if ("cues" in changed || "cue" in changed || "next_cue" in changed) renderCues();
  if ("outputs" in changed) renderOutputs();
  if ("outputs" in changed || "surfaces" in changed || "selection" in changed || "mesh_selection" in changed || "test_patterns" in changed || "patterns" in changed) renderTechnician();
  if ("can_undo" in changed) $("undo").disabled = !state.can_undo;
  if ("can_redo" in changed) $("redo").disabled = !state.can_redo;
  if ("errors" in changed) for (const [layer, text] of Object.entries(state.errors || {})) showError(`${layer}: ${text}`, "warning");
  if (changed.reload_error) showError(`show folder edit refused: ${changed.reload_error}`, "warning");
  if ("schedule" in changed && state.schedule) $("schedule-now").textContent = state.schedule;
  if ("nodes" in changed) renderNodes();
}

function renderNodes() {
  // the render nodes of a multi-machine show (docs/cluster.md), on the controller's panel
  const nodes = state.nodes || [];
  $("nodes-section").hidden = nodes.length === 0;
  $("nodes").replaceChildren(...nodes.map((n) => el("tr", {class: n.state === "ok" ? "" : "node-" + n.state, "data-node": n.name},
    el("td", {}, n.name),
    el("td", {}, n.state + (n.behind ? ` (${n.behind} behind)` : "")),
    el("td", {}, n.cue || "–"),
    el("td", {}, n.late_frames),
    el("td", {class: n.clock_alarm ? "alarm" : ""}, `${n.clock}${n.clock_offset_ms === null ? "" : ` ${n.clock_offset_ms} ms`}`),
    el("td", {}, n.cpu === null ? "–" : Math.round(n.cpu * 100) + "%"),
    el("td", {title: n.gpu || ""}, n.gpu_load === null || n.gpu_load === undefined ? "unknown" : Math.round(n.gpu_load * 100) + "%"),
    el("td", {}, n.problem || ""))));
}

function renderCues() {
  const list = $("cue-list");
  list.replaceChildren(...(state.cues || []).map((cue) => {
    const item = el("li", {"data-cue": cue.number, tabindex: "0"}, cue.label);
    if (cue.label === state.cue) item.classList.add("current");
    if (cue.label === state.next_cue) item.classList.add("next");
    if (cue.number === selectedCue) item.classList.add("selected");
    item.addEventListener("click", () => { selectedCue = cue.number; $("load").disabled = false; renderCues(); });
    return item;
  }));
}

function renderOutputs() {
  const thumbs = $("thumbs");
  thumbs.replaceChildren(...(state.outputs || []).map((o) => el("figure", {},
    el("img", {id: `thumb-${o.name}`, alt: o.name, width: 192, height: Math.round(192 * o.height / o.width)}),
    el("figcaption", {}, `${o.name} (${o.width}×${o.height})`))));
}

function updateThumb(output, seq) {
  const url = `/api/thumb/${encodeURIComponent(output)}?seq=${seq}`;
  const img = $(`thumb-${output}`);
  if (img) { img.src = url; img.dataset.seq = seq; }
  if ($("tech-output").value === output) { $("tech-thumb").src = url; $("tech-thumb").dataset.seq = seq; }
}

function fillSelect(select, values, keep) {
  const current = keep ?? select.value;
  select.replaceChildren(...values.map((v) => el("option", {value: v}, v)));
  if (values.includes(current)) select.value = current;
}

function renderTechnician() {
  const outputs = (state.outputs || []).map((o) => o.name);
  const selection = state.selection;
  const surfaces = state.surfaces || [];
  let output = $("tech-output").value;
  if (selection) {
    const s = surfaces.find((x) => x.name === selection[0]);
    if (s) output = s.output;
  }
  fillSelect($("tech-output"), outputs, output);
  const onOutput = surfaces.filter((s) => s.output === $("tech-output").value).map((s) => s.name);
  fillSelect($("tech-surface"), onOutput, selection && onOutput.includes(selection[0]) ? selection[0] : undefined);
  const surface = surfaces.find((s) => s.name === $("tech-surface").value);
  $("corner-buttons").replaceChildren(...[0, 1, 2, 3].map((i) => {
    const b = el("button", {id: `corner-${i}`, class: "corner"}, `corner ${i}`);
    if (selection && surface && selection[0] === surface.name && selection[1] === i) b.classList.add("on");
    b.addEventListener("click", () => selectCorner(i));
    return b;
  }));
  const mesh = surface ? surface.mesh : null;
  $("mesh-controls").hidden = !mesh;
  if (mesh) {
    $("mesh-column").max = mesh[0] - 1;
    $("mesh-row").max = mesh[1] - 1;
  }
  const point = state.mesh_selection;
  $("mesh-selected").textContent = point && surface && point[0] === surface.name
    ? `selected: point ${point[1]}, ${point[2]} of ${mesh ? mesh.join("×") : "?"}` : "";
  $("corner-table").replaceChildren(...(surface ? surface.corners : []).map(([x, y], i) =>
    el("tr", {class: selection && surface && selection[0] === surface.name && selection[1] === i ? "on" : ""},
      el("td", {}, i), el("td", {id: `corner-${i}-x`}, x.toFixed(2)), el("td", {id: `corner-${i}-y`}, y.toFixed(2)))));
  const out = $("tech-output").value;
  const active = (state.test_patterns || {})[out] || "";
  $("patterns").replaceChildren(...["off", ...(state.patterns || [])].map((p) => {
    const b = el("button", {"data-pattern": p}, p);
    if ((p === "off" && !active) || p === active) b.classList.add("on");
    b.addEventListener("click", () => command("output.testpattern", [p], {output: out}));
    return b;
  }));
}

function selectCorner(i) {
  const surface = $("tech-surface").value;
  if (surface) command("calibrate.select", [surface, i]);
}

function nudge(dx, dy, fine) {
  const step = fine ? 0.1 : parseFloat($("nudge-step").value);
  // a selected mesh point takes the nudges; selecting a corner deselects it
  const name = state.mesh_selection ? "calibrate.pointnudge" : "calibrate.nudge";
  command(name, [dx * step, dy * step]);
}

function selectMeshPoint() {
  const surface = $("tech-surface").value;
  const column = parseInt($("mesh-column").value, 10), row = parseInt($("mesh-row").value, 10);
  if (surface && Number.isInteger(column) && Number.isInteger(row)) {
    command("calibrate.point", [surface, column, row]);
  }
}

async function loadResiduals() {
  const body = await (await api("/api/surfaces")).json();
  $("residuals").replaceChildren(...body.surfaces.map((s) => el("tr", {},
    el("td", {}, s.name), el("td", {}, s.method || (s.calibration ? "" : "corner pin in show.toml")),
    el("td", {}, s.residual_rms_px ?? "–"), el("td", {}, s.residual_max_px ?? "–"), el("td", {}, s.updated || s.problem || ""))));
}

async function loadShowPage() {
  const media = await (await api("/api/media")).json();
  $("media-root").textContent = media.root;
  const size = (n) => n > 1e6 ? (n / 1e6).toFixed(1) + " MB" : n > 1e3 ? (n / 1e3).toFixed(1) + " kB" : n + " B";
  const details = (f) => [f.codec, f.width && f.height ? `${f.width}×${f.height}` : "",
    f.fps ? `${+f.fps.toFixed(3)} fps${f.vfr ? " (VFR)" : ""}` : "", f.duration_s ? `${f.duration_s.toFixed(1)} s` : "",
    f.alpha ? "alpha" : ""].filter(Boolean).join(" · ");
  $("media").replaceChildren(...media.files.map((f) => el("tr", {class: f.problems.length ? "problem" : ""},
    el("td", {}, f.file), el("td", {}, f.kind), el("td", {}, details(f)), el("td", {}, size(f.size_bytes)),
    el("td", {}, f.used ? f.uses.join(", ") : "not used"),
    el("td", {}, [...f.problems.map((p) => "✗ " + p), ...f.notes.map((n) => "· " + n)].join("\n")))));
  $("render-errors").replaceChildren(...Object.entries(media.errors || {}).map(([layer, text]) => el("li", {}, `${layer}: ${text}`)));
  const schedule = await (await api("/api/schedule")).json();
  if (schedule.running) {
    $("schedule-now").textContent = `${schedule.evening}: ${schedule.now}`;
    $("schedule-table").hidden = false;
    $("schedule").replaceChildren(...schedule.shows.map((s) => el("tr", {class: s.running ? "on" : ""},
      el("td", {}, s.show), el("td", {}, s.start || "–"), el("td", {}, s.end || "–"),
      el("td", {}, s.problem || (s.skipped ? "skipped" : s.running ? "running" : "")))));
  }
}

// -- wiring

function wire() {
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.page === page);
  $(`page-${page}`).hidden = false;
  $("go").addEventListener("click", () => command("go"));
  $("back").addEventListener("click", () => command("back"));
  $("stop").addEventListener("click", () => command("stop"));
  $("panic").addEventListener("click", () => { if (confirm("PANIC: fade everything to black?")) command("panic"); });
  $("load").addEventListener("click", () => { if (selectedCue) command("cue.load", [], {cue: selectedCue}); });
  $("master").addEventListener("change", () => command("master", [parseFloat($("master").value)]));
  $("blackout").addEventListener("click", () => command("blackout", [state.blackout ? 0 : 1]));
  $("undo").addEventListener("click", () => command("undo"));
  $("redo").addEventListener("click", () => command("redo"));
  $("save").addEventListener("click", () => command("calibrate.save"));
  $("tech-output").addEventListener("change", () => { state.selection = null; renderTechnician(); });
  $("tech-surface").addEventListener("change", () => selectCorner(0));
  $("mesh-select").addEventListener("click", selectMeshPoint);
  $("nudge-up").addEventListener("click", () => nudge(0, -1));
  $("nudge-down").addEventListener("click", () => nudge(0, 1));
  $("nudge-left").addEventListener("click", () => nudge(-1, 0));
  $("nudge-right").addEventListener("click", () => nudge(1, 0));
  $("logout").addEventListener("click", async () => {
    await api("/api/logout", {method: "POST", headers: {"X-CSRF-Token": csrf}});
    location.assign("/login");
  });
  if (page === "technician") {
    document.addEventListener("keydown", (event) => {
      if (event.target.tagName === "SELECT" || event.target.tagName === "INPUT") return;
      const arrows = {ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0]};
      if (event.key in arrows) { event.preventDefault(); nudge(...arrows[event.key], event.shiftKey); }
      else if (["1", "2", "3", "4"].includes(event.key)) selectCorner(Number(event.key) - 1);
    });
    loadResiduals().catch(() => {});
  }
  if (page === "show") loadShowPage().catch(() => {});
}

(async () => {
  wire();
  try { await loadSession(); } catch (e) { setConnection(false, "the show does not answer"); }
  connect();
})();
