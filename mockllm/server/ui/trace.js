// The trace viewer: the journal of a mockllm server as a timeline. Live, it reads
// GET /__mockllm/requests and follows GET /__mockllm/events; in a trace file, the journal is
// embedded in the page (script#mockllm-trace) and nothing is fetched.
"use strict";
(() => {
  const ADMIN = "/__mockllm";
  const ROW = 26; // px: every row has the same height, so only the visible ones are rendered
  const OVERSCAN = 10;
  const RENDERED = "mockllm:journal-shown";

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  };

  const embedded = $("mockllm-trace");
  const trace = embedded ? JSON.parse(embedded.textContent) : null;
  const state = {
    entries: [], // journal entries, oldest first
    shown: [], // positions in entries that pass the filters
    selected: -1, // a position in entries
    open: false,
    mocks: new Map(), // label -> the mock's config (embedded, or fetched when first needed)
    apis: new Set(),
    labels: new Set(),
    follow: true,
  };

  // --- reading an entry -------------------------------------------------------------------

  const isError = (e) => e.mock === null || e.status >= 400 || (e.contract || []).length > 0;

  function modelOf(e) {
    const body = e.body;
    if (body && typeof body === "object" && typeof body.model === "string") return body.model;
    const found = /\/models\/([^/:]+)|\/model\/([^/]+)\//.exec(e.path || "");
    return found ? decodeURIComponent(found[1] || found[2]) : "";
  }

  function textOf(value) {
    if (value == null) return "";
    if (typeof value === "string") return value;
    if (Array.isArray(value)) return value.map(textOf).filter(Boolean).join(" ");
    if (typeof value === "object") {
      for (const key of ["text", "content", "output", "parts", "input"]) {
        if (key in value) return textOf(value[key]);
      }
    }
    return "";
  }

  // The conversation as the agent sent it: [{role, parts: [{kind, text}]}], for every API.
  function conversation(api, body) {
    const turns = [];
    if (!body || typeof body !== "object") return turns;
    const add = (role, parts) => turns.push({ role: String(role || "?"), parts: parts.filter(Boolean) });
    const text = (t) => (t == null || t === "" ? null : { kind: "text", text: typeof t === "string" ? t : JSON.stringify(t) });
    const call = (name, args, id) => ({ kind: "call", text: `${name}(${typeof args === "string" ? args : JSON.stringify(args ?? {})})${id ? `  [${id}]` : ""}` });
    const result = (id, content) => ({ kind: "result", text: `${id ? `[${id}] ` : ""}${typeof content === "string" ? content : textOf(content) || JSON.stringify(content)}` });
    const media = (what) => ({ kind: "media", text: `[${what}]` });
    const block = (b) => {
      if (b == null) return null;
      if (typeof b === "string") return text(b);
      const type = b.type;
      if (type === "text" || type === "input_text" || type === "output_text") return text(b.text);
      if (type === "image_url" || type === "image" || type === "input_image") return media("image");
      if (type === "input_audio" || type === "audio") return media("audio");
      if (type === "file" || type === "document" || type === "input_file") return media("file");
      if (type === "tool_use") return call(b.name, b.input, b.id);
      if (type === "tool_result") return result(b.tool_use_id, b.content);
      if (type === "thinking" || type === "reasoning") return text(b.thinking || textOf(b.summary));
      if ("text" in b) return text(b.text);
      if (b.functionCall) return call(b.functionCall.name, b.functionCall.args, b.functionCall.id);
      if (b.functionResponse) return result(b.functionResponse.id || b.functionResponse.name, b.functionResponse.response);
      if (b.inlineData || b.fileData) return media((b.inlineData || b.fileData).mimeType || "file");
      if (b.toolUse) return call(b.toolUse.name, b.toolUse.input, b.toolUse.toolUseId);
      if (b.toolResult) return result(b.toolResult.toolUseId, b.toolResult.content);
      if (b.image || b.document || b.video) return media(b.image ? "image" : b.document ? "document" : "video");
      return text(JSON.stringify(b));
    };
    const blocks = (content) => (Array.isArray(content) ? content.map(block) : [block(content)]);
    const system = body.system ?? body.instructions ?? body.systemInstruction ?? body.system_instruction;
    if (system != null) add("system", Array.isArray(system) ? system.map(block) : system.parts ? blocks(system.parts) : [text(system)]);
    if (Array.isArray(body.messages)) {
      for (const m of body.messages) {
        if (!m || typeof m !== "object") continue;
        const parts = blocks(m.content);
        for (const c of m.tool_calls || []) {
          const f = c.function || c;
          parts.push(call(f.name, f.arguments, c.id));
        }
        if (m.images) for (const _ of m.images) parts.push(media("image"));
        if (m.role === "tool") add("tool", [result(m.tool_call_id || m.tool_name || m.name, m.content)]);
        else add(m.role, parts);
      }
    } else if (Array.isArray(body.contents)) {
      for (const c of body.contents) add(c.role || "user", blocks(c.parts));
    } else if (body.input !== undefined && api === "openai_response") {
      const items = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
      for (const item of items || []) {
        if (item.type === "function_call" || item.type === "custom_tool_call") add("assistant", [call(item.name, item.arguments ?? item.input, item.call_id)]);
        else if (/_output$/.test(item.type || "")) add("tool", [result(item.call_id, item.output)]);
        else if (item.role) add(item.role, blocks(item.content));
        else add(item.type || "item", [text(JSON.stringify(item))]);
      }
    } else if (body.prompt !== undefined) {
      add("user", [text(body.prompt)]);
    } else if (body.input !== undefined || body.requests !== undefined) {
      add("input", [text(textOf(body.input ?? body.requests.map((r) => r.content)))]);
    }
    return turns;
  }

  function excerpt(e) {
    const turns = conversation(e.api, e.body);
    const last = turns[turns.length - 1];
    if (!last) return e.error || "";
    return last.parts.map((p) => p.text).join(" ").replace(/\s+/g, " ").slice(0, 200);
  }

  // "no mock", and why the nearest mock missed.
  function unanswered(e) {
    if (e.status >= 500) return "server error";
    const nearest = (e.near_misses || [])[0];
    return nearest ? `no mock (${nearest.mock}: ${nearest.reasons[0] || "missed"})` : "no mock";
  }

  function notes(e) {
    const said = [];
    if (e.fault) said.push(e.fault);
    if (e.client_left) said.push("client left");
    for (const p of e.contract || []) said.push(p.rule);
    return said.join(", ");
  }

  // --- the list -----------------------------------------------------------------------------

  function addEntries(list) {
    for (const e of list) {
      e._excerpt = excerpt(e);
      e._model = modelOf(e);
      e._search = [e.path, e.api, e._model, e._excerpt, e.mock, e.status, e.error, notes(e)].join(" ").toLowerCase();
      state.entries.push(e);
      if (e.api && !state.apis.has(e.api)) {
        state.apis.add(e.api);
        $("filter-api").append(el("option", { value: e.api, text: e.api }));
      }
      if (e.mock && !state.labels.has(e.mock)) {
        state.labels.add(e.mock);
        $("filter-mock").append(el("option", { value: e.mock, text: e.mock }));
      }
    }
    applyFilters();
  }

  function passes(e, f) {
    if (f.api && e.api !== f.api) return false;
    if (f.mock === "-" ? e.mock !== null : f.mock && e.mock !== f.mock) return false;
    if (f.status === "problems" ? !isError(e) : f.status && String(e.status)[0] !== f.status[0]) return false;
    return !f.text || e._search.includes(f.text);
  }

  function applyFilters() {
    const f = {
      api: $("filter-api").value,
      mock: $("filter-mock").value,
      status: $("filter-status").value,
      text: $("filter-text").value.trim().toLowerCase(),
    };
    state.shown = [];
    state.entries.forEach((e, i) => { if (passes(e, f)) state.shown.push(i); });
    const total = state.entries.length;
    $("count").textContent = state.shown.length === total ? `${total} requests` : `${state.shown.length} of ${total} requests`;
    $("empty").hidden = total > 0;
    $("spacer").style.height = `${state.shown.length * ROW}px`;
    const viewport = $("viewport");
    if (state.follow) viewport.scrollTop = viewport.scrollHeight;
    render();
  }

  function time(t) {
    const d = new Date(t * 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function row(position) {
    const e = state.entries[position];
    const node = el("div", { class: "row", role: "option", "data-position": String(position) });
    if (isError(e)) node.classList.add("error");
    if (position === state.selected) {
      node.classList.add("selected");
      node.setAttribute("aria-selected", "true");
    }
    const events = e.events_total == null ? "" : `${e.events_sent ?? 0}/${e.events_total}`;
    const mock = e.mock === null ? el("span", { class: "c-mock nomock", text: unanswered(e) }) : el("span", { class: "c-mock", text: e.mock });
    mock.title = mock.textContent;
    node.append(
      el("span", { class: "c-time", text: time(e.time) }),
      el("span", { class: "c-api", text: e.api || "" }),
      el("span", { class: "c-model", text: e._model }),
      el("span", { class: "c-text", text: e._excerpt }),
      mock,
      el("span", { class: "c-status", text: String(e.status) }),
      el("span", { class: "c-ttfb", text: firstAndWhole(e) }),
      el("span", { class: "c-events", text: events }),
      el("span", { class: "c-notes", text: notes(e) }),
    );
    node.title = `${e.method} ${e.path}`;
    return node;
  }

  function render() {
    const viewport = $("viewport");
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(state.shown.length, Math.ceil((viewport.scrollTop + viewport.clientHeight) / ROW) + OVERSCAN);
    const rows = $("rows");
    rows.style.top = `${first * ROW}px`;
    rows.replaceChildren(...state.shown.slice(first, last).map(row));
  }

  // --- one request ----------------------------------------------------------------------------

  function select(position, open) {
    state.selected = position;
    const index = state.shown.indexOf(position);
    const viewport = $("viewport");
    if (index >= 0) {
      const top = index * ROW;
      if (top < viewport.scrollTop) viewport.scrollTop = top;
      else if (top + ROW > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = top + ROW - viewport.clientHeight;
    }
    state.follow = index === state.shown.length - 1;
    render();
    if (open || state.open) show(position);
  }

  function pretty(value) {
    return el("pre", { text: JSON.stringify(value, null, 2) });
  }

  function section(title, ...children) {
    return [el("h3", { text: title }), ...children];
  }

  function conversationView(e) {
    const turns = conversation(e.api, e.body);
    if (!turns.length) return [el("p", { text: e.body && e.body.truncated ? "The body was too large to keep whole; see the raw request." : "No conversation in this request." })];
    return turns.map((t) => el("div", { class: `msg ${t.role}` }, el("div", { class: "role", text: t.role }), ...t.parts.map((p) => el("div", { class: `part ${p.kind}`, text: p.text }))));
  }

  function answerParts(api, response) {
    // The answer, read as a request's last turn would be: text and tool calls.
    if (!response || typeof response !== "object") return [];
    const message = response.choices?.[0]?.message ?? response.output?.message ?? response.message ?? response.candidates?.[0]?.content;
    if (message) return conversation("", { messages: [message.parts ? { role: "assistant", content: message.parts } : message] });
    if (Array.isArray(response.output)) return conversation("openai_response", { input: response.output });
    if (Array.isArray(response.content)) return conversation("", { messages: [{ role: response.role || "assistant", content: response.content }] });
    return [];
  }

  function firstAndWhole(e) {
    // A stream's first byte and its last; an answer written in one piece has one time.
    if (e.ttfb_ms == null) return "";
    const first = Math.round(e.ttfb_ms);
    if (e.duration_ms == null || e.events_total == null) return `${first} ms`;
    return `${first} / ${Math.round(e.duration_ms)} ms`;
  }

  function timingBar(e, mock) {
    if (e.ttfb_ms == null && e.events_total == null) return null;
    const timing = (mock && mock.timing) || {};
    const wait = e.ttfb_ms ?? timing.ttft_ms ?? 0;
    const streaming = (e.events_sent ?? 0) * (timing.chunk_interval_ms ?? 0);
    const whole = Math.max(1, wait + streaming);
    const bar = el("div", { class: "timing", title: "first byte, then the events" },
      el("div", { class: "wait", style: `width:${(100 * wait) / whole}%` }),
      el("div", { class: "sent", style: `width:${(100 * streaming) / whole}%` }));
    const label = [`first byte ${Math.round(wait)} ms`];
    if (e.events_total != null) label.push(`${e.events_sent ?? 0} of ${e.events_total} events`);
    if (e.duration_ms != null && e.events_total != null) label.push(`whole ${Math.round(e.duration_ms)} ms`);
    if (timing.chunk_interval_ms) label.push(`every ${timing.chunk_interval_ms} ms`);
    if (e.fault) label.push(`fault ${e.fault}`);
    return el("div", {}, bar, el("div", { class: "timing-label", text: label.join(", ") }));
  }

  async function mockOf(label) {
    if (state.mocks.has(label)) return state.mocks.get(label);
    if (trace) return null;
    const answer = await fetch(`${ADMIN}/mocks/${encodeURIComponent(label)}`);
    const found = answer.ok ? (await answer.json()).mock : null;
    state.mocks.set(label, found);
    return found;
  }

  async function suggestion(position, e) {
    if (trace) return trace.suggestions[String(position)] || null;
    const answer = await fetch(`${ADMIN}/mock-this`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ api: e.api, body: e.body }),
    });
    const data = await answer.json();
    return answer.ok ? data : { problem: data.error?.message || data.message || `status ${answer.status}` };
  }

  function copyable(title, text, id) {
    const button = el("button", { type: "button", text: "Copy" });
    button.addEventListener("click", () => {
      navigator.clipboard?.writeText(text).then(() => { button.textContent = "Copied"; }, () => { button.textContent = "Select and copy"; });
    });
    return el("div", {}, el("div", { class: "copy-row" }, el("strong", { text: title }), button), el("pre", { id, text }));
  }

  async function show(position) {
    const e = state.entries[position];
    const detail = $("detail");
    state.open = true;
    detail.hidden = false;
    const close = el("button", { type: "button", class: "close", text: "Close (Esc)" });
    close.addEventListener("click", hide);
    const outcome = e.mock === null ? (e.status >= 500 ? "server error" : "no mock") : `mock “${e.mock}”`;
    const parts = [close, el("h2", { text: `${e.method} ${e.path}` }), el("div", { class: isError(e) ? "problem" : "", text: `${e.status} · ${outcome} · ${time(e.time)}${e._model ? ` · ${e._model}` : ""}` })];
    if (e.error) parts.push(el("p", { class: "problem", text: e.error }));
    for (const p of e.contract || []) parts.push(el("p", { class: "problem", text: `contract: ${p.rule} at ${p.path}: ${p.message}` }));
    parts.push(...section("Conversation", el("div", { id: "conversation" }, ...conversationView(e))));
    const answer = el("div", { id: "answer" });
    parts.push(...section("Answer", answer));
    if ((e.near_misses || []).length) {
      parts.push(...section("Near misses", el("div", { id: "near-misses" }, ...e.near_misses.map((m) =>
        el("div", { class: "miss" }, el("strong", { text: m.mock }), el("ul", {}, ...m.reasons.map((r) => el("li", { text: r }))))))));
    }
    const mockThis = el("div", { id: "mock-this" });
    if (e.mock === null && e.api && e.body && typeof e.body === "object" && !e.body.truncated) parts.push(...section("Mock this", mockThis));
    const raw = el("div", {}, el("details", { open: "" }, el("summary", { text: "request (credentials redacted)" }), pretty(strip(e))));
    parts.push(...section("Raw JSON", raw));
    detail.replaceChildren(...parts);

    if (e.mock !== null) {
      const mock = await mockOf(e.mock);
      if (state.selected !== position) return;
      if (mock) {
        const shown = answerParts(e.api, mock.response);
        const bar = timingBar(e, mock);
        if (bar) answer.append(bar);
        if (mock.error) answer.append(el("p", { class: "problem", text: `error ${mock.error.status ?? ""}: ${mock.error.message ?? ""}` }));
        answer.append(...shown.map((t) => el("div", { class: `msg ${t.role}` }, el("div", { class: "role", text: "answer" }), ...t.parts.map((p) => el("div", { class: `part ${p.kind}`, text: p.text })))));
        raw.append(el("details", {}, el("summary", { text: "answer (the mock's config)" }), pretty(mock)));
      } else answer.append(el("p", { text: "The mock that answered is no longer served." }));
    } else {
      answer.append(el("p", { text: e.error || "No mock answered this request." }));
      const found = mockThis.isConnected ? await suggestion(position, e) : null;
      if (state.selected !== position || !found) return;
      if (found.problem) mockThis.append(el("p", { text: found.problem }));
      else mockThis.append(
        el("p", { text: "A mock that matches this request, with a placeholder answer: paste it into the test, or the JSON into the config." }),
        copyable("Builder", found.builder, "mock-this-builder"),
        copyable("JSON config", JSON.stringify(found.config, null, 2), "mock-this-json"));
    }
  }

  function strip(e) {
    const copy = {};
    for (const [key, value] of Object.entries(e)) if (!key.startsWith("_")) copy[key] = value;
    return copy;
  }

  function hide() {
    state.open = false;
    $("detail").hidden = true;
    $("viewport").focus();
  }

  // --- wiring ---------------------------------------------------------------------------------

  function move(step) {
    if (!state.shown.length) return;
    const index = state.shown.indexOf(state.selected);
    const from = index >= 0 ? index : step > 0 ? -1 : state.shown.length;
    const next = Math.min(state.shown.length - 1, Math.max(0, from + step));
    select(state.shown[next], false);
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
    if (event.key === "/" && !typing) {
      event.preventDefault();
      $("filter-text").focus();
    } else if (event.key === "Escape") {
      if (typing) { event.target.blur(); $("viewport").focus(); } else hide();
    } else if (typing) {
      return;
    } else if (event.key === "ArrowDown" || event.key === "j") {
      event.preventDefault(); move(1);
    } else if (event.key === "ArrowUp" || event.key === "k") {
      event.preventDefault(); move(-1);
    } else if (event.key === "Home") {
      event.preventDefault(); move(-Infinity);
    } else if (event.key === "End") {
      event.preventDefault(); move(Infinity);
    } else if (event.key === "Enter" && state.selected >= 0) {
      show(state.selected);
    }
  });
  $("rows").addEventListener("click", (event) => {
    const found = event.target.closest(".row");
    if (found) select(Number(found.dataset.position), true);
  });
  $("viewport").addEventListener("scroll", () => {
    const viewport = $("viewport");
    state.follow = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW;
    render();
  }, { passive: true });
  window.addEventListener("resize", render);
  for (const id of ["filter-api", "filter-mock", "filter-status"]) $(id).addEventListener("change", applyFilters);
  $("filter-text").addEventListener("input", applyFilters);

  function start() {
    if (trace) {
      $("source").textContent = trace.title;
      document.title = `mockllm trace: ${trace.title}`;
      for (const [label, mock] of Object.entries(trace.mocks)) state.mocks.set(label, mock);
      addEntries(trace.requests);
      performance.mark(RENDERED); // how long a page takes to be usable (benchmarks/trace_page_load.py)
      return;
    }
    $("source").textContent = location.host;
    // The feed opens first, and the journal is read once it is open: what comes meanwhile is
    // kept and added after, without the entries the journal held already. When the server is too
    // busy to send every request live, it says how many it skipped, and the journal is read again
    // once it has been quiet for a second.
    const feed = new EventSource(`${ADMIN}/events`);
    let pending = [];
    let loaded = false;
    let reread = null;
    const key = (e) => `${e.time}|${e.method}|${e.path}|${e.status}`;
    let reads = 0; // only the latest read of the journal is shown
    async function readJournal() {
      loaded = false;
      const read = ++reads;
      const answer = await fetch(`${ADMIN}/requests`);
      const data = answer.ok ? await answer.json() : { requests: [] };
      if (read !== reads) return;
      const seen = new Set(data.requests.map(key));
      const fresh = pending.filter((e) => !seen.has(key(e)));
      pending = [];
      state.entries = [];
      loaded = true;
      $("behind").hidden = true;
      addEntries([...data.requests, ...fresh]);
      if (!performance.getEntriesByName(RENDERED).length) performance.mark(RENDERED);
      if (state.open && state.selected >= state.entries.length) hide();
    }
    const whenQuiet = () => {
      if (reread === null) return;
      clearTimeout(reread);
      reread = setTimeout(() => { reread = null; readJournal(); }, 1000);
    };
    feed.addEventListener("message", (event) => {
      const entry = JSON.parse(event.data);
      if (!loaded) pending.push(entry);
      else addEntries([entry]);
      whenQuiet();
    });
    feed.addEventListener("cleared", () => {
      if (!loaded) { pending = []; readJournal(); return; } // what is being read may be from before
      state.entries = [];
      state.selected = -1;
      if (state.open) hide();
      applyFilters();
    });
    feed.addEventListener("skipped", (event) => {
      const skipped = JSON.parse(event.data).skipped;
      $("behind").hidden = false;
      $("behind").textContent = `busy: ${skipped} requests not shown live, read when the server is quiet`;
      reread = reread ?? 0;
      whenQuiet();
    });
    feed.addEventListener("open", () => {
      $("live").hidden = false;
      readJournal();
    });
    feed.addEventListener("error", () => { $("live").hidden = true; loaded = false; });
  }

  start();
})();
