// Event subscriptions: each one's state, backlog, last error and next retry (polled), its dead
// letters with a replay, adding one (its secret shown once) and removing those made here.
"use strict";

(() => {
  const { api, el, $, show, num, when, poll, confirmDialog } = BC;
  const SOURCES = { api: "this page / API", settings: "settings", campaign: "a campaign" };
  const base = "/events/subscriptions";
  let selected = null;

  const at = (seconds) => (seconds ? when(new Date(seconds * 1000).toISOString()) : "–");

  function fail(err) {
    $("#e-result").textContent = "";
    show($("#e-error"), err.message);
  }

  function done(message) {
    show($("#e-error"), "");
    $("#e-result").textContent = message;
  }

  function button(text, label, onClick, cls = "") {
    const b = el("button", { type: "button", class: cls, "aria-label": label, text });
    b.addEventListener("click", () => onClick().catch(fail));
    return b;
  }

  function row(s) {
    const state = s.disabled ? "disabled" : "enabled";
    const actions = [button("Dead letters", `Dead letters of ${s.url}`, () => deadLetters(s))];
    if (s.disabled) actions.push(button("Enable", `Enable ${s.url}`, () => enable(s)));
    if (s.source === "api") actions.push(button("Delete", `Delete ${s.url}`, () => remove(s), "danger"));
    return el("tr", { "data-id": s.id },
      el("td", { class: "wide", text: s.url }),
      el("td", { text: SOURCES[s.source] || s.source }),
      el("td", {}, el("span", { class: "badge " + state, "data-field": "state",
        text: s.disabled ? "disabled (410 Gone)" : "enabled" })),
      el("td", { class: "num", "data-field": "backlog", text: num(s.backlog) }),
      el("td", { class: "num", "data-field": "delivered", text: num(s.delivered) }),
      el("td", { class: "num", "data-field": "dead", text: num(s.dead) }),
      el("td", { class: s.last_error ? "wide" : "", "data-field": "last_error",
        text: s.last_error ? `${s.last_error} (${at(s.last_error_at)})` : "–" }),
      el("td", { class: "nowrap", "data-field": "next_at", text: at(s.next_at) }),
      el("td", {}, el("div", { class: "row-actions" }, ...actions)));
  }

  async function refresh() {
    let subs;
    try {
      subs = await api(base);
    } catch (err) {
      fail(err);
      throw err;
    }
    $("#e-table").tBodies[0].replaceChildren(...subs.map(row));
    $("#e-empty").hidden = subs.length > 0;
    if (selected) {
      const still = subs.find((s) => s.id === selected.id);
      if (still) await deadLetters(still, false);
      else { selected = null; $("#dead").hidden = true; }
    }
    return true;
  }

  async function deadLetters(s, scroll = true) {
    selected = s;
    const dead = await api(`${base}/${s.id}/dead`);
    $("#dead-url").textContent = s.url;
    $("#dead-table").tBodies[0].replaceChildren(...dead.map((d) =>
      el("tr", {}, el("td", { class: "nowrap", text: d.id }), el("td", { text: d.type }),
        el("td", { class: "wide", text: d.error }), el("td", { class: "nowrap", text: at(d.at) }))));
    $("#dead-none").hidden = dead.length > 0;
    $("#dead-replay").disabled = dead.length === 0;
    $("#dead").hidden = false;
    if (scroll) $("#dead").scrollIntoView({ block: "nearest" });
  }

  async function enable(s) {
    await api(`${base}/${s.id}/enable`, { method: "POST" });
    done(`${s.url} enabled: its waiting events go out again.`);
    poller.now();
  }

  async function remove(s) {
    const ok = await confirmDialog(`Delete the subscription to ${s.url}?`,
      "New campaigns do not send it events, running ones stop, and its " +
      `${num(s.backlog)} waiting events and ${num(s.dead)} dead letters go.`, "Delete");
    if (!ok) return;
    await api(`${base}/${s.id}`, { method: "DELETE" });
    $("#e-secret").hidden = true;
    done(`${s.url} deleted.`);
    poller.now();
  }

  $("#dead-replay").addEventListener("click", async () => {
    if (!selected) return;
    try {
      const r = await api(`${base}/${selected.id}/replay`, { method: "POST" });
      done(`${num(r.replayed)} events queued again for ${selected.url}.`);
      poller.now();
    } catch (err) {
      fail(err);
    }
  });

  $("#add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const json = { url: $("#add-url").value.trim() };
    const secret = $("#add-secret").value.trim();
    if (secret) json.secret = secret;
    try {
      const made = await api(base, { method: "POST", json });
      $("#e-secret-url").textContent = made.url;
      $("#e-secret-value").textContent = made.secret;
      $("#e-secret").hidden = false;
      $("#add-form").reset();
      done(`Subscribed ${made.url}: campaigns launched from now on send it their events.`);
      poller.now();
    } catch (err) {
      fail(err);
    }
  });

  const poller = poll(refresh, 3000);
})();
