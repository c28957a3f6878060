// One campaign, live: progress polled every second, funnel, failure reasons, recipients,
// controls (with a confirmation naming how many messages an action sends) and the report.
"use strict";

(() => {
  const { api, el, $, show, num, when, duration, rate, badge, setBar, poll, confirmDialog } = BC;
  const id = decodeURIComponent(location.pathname.split("/").pop());
  const base = `/campaigns/${encodeURIComponent(id)}`;
  const PAGE = 25;
  const ACTIVE = new Set(["running", "scheduled", "paused", "draft"]);
  let campaign = null;
  let rows = { status: "", offset: 0, seen: "" };
  let failuresSeen = -1;

  $("#c-report").href = `${base}/report.csv`;

  function funnel(c, p) {
    const k = p.counts;
    const steps = [
      ["queued", "Queued", p.total],
      ["sent", "Sent", k.sent + k.delivered + k.read],
      ["delivered", "Delivered", k.delivered + k.read],
      ["read", "Read", k.read],
      ["replied", "Replied", c.replies],
      ["failed", "Failed", k.failed],
      ["unknown", "Unknown", k.unknown],
    ];
    $("#c-funnel").replaceChildren(...steps.map(([key, label, value]) => {
      const width = p.total ? (100 * value) / p.total : 0;
      const fill = el("span");
      fill.style.width = `${Math.min(100, width)}%`;
      return el("li", { class: key, "data-step": key },
        el("span", { text: label }),
        el("span", { class: "fill", "aria-hidden": "true" }, fill),
        el("strong", { "data-count": key, text: num(value) }));
    }));
    const other = ["pending", "queued", "sending", "paced", "off_hours", "waiting", "skipped",
      "cancelled", "expired"]
      .filter((s) => k[s]).map((s) => `${s} ${num(k[s])}`);
    $("#c-other").textContent = other.length ? "Now also: " + other.join(" · ") : "";
  }

  function controls(c, p) {
    const k = p.counts;
    const state = p.state;
    const open = state !== "cancelled" && state !== "draft";
    $("#act-pause").disabled = !(state === "running" || state === "scheduled");
    $("#act-resume").disabled = state !== "paused";
    $("#act-cancel").disabled = !ACTIVE.has(state) || state === "draft";
    $("#act-archive").disabled = !(state === "completed" || state === "cancelled")
      || Boolean(c.archived_at);
    $("#act-delete").disabled = state === "running" || state === "scheduled"
      || k.queued + k.sending > 0;
    $("#act-delete").title = $("#act-delete").disabled
      ? "Pause or cancel the campaign, and let its sends in flight finish, to delete it" : "";
    $("#act-retry").disabled = !(open && k.failed > 0);
    $("#act-unknown").disabled = !(open && k.unknown > 0);
    $("#act-retry").textContent = k.failed ? `Retry failed (${num(k.failed)})` : "Retry failed";
    $("#act-unknown").textContent = k.unknown
      ? `Resend unknown (${num(k.unknown)})` : "Resend unknown";
  }

  // A sender pool: each sender's share, and why one was taken out of the pool.
  function pool(c) {
    $("#pool").hidden = !c.pool.length;
    $("#pool-table").tBodies[0].replaceChildren(...c.pool.map((s) => {
      const why = s.state === "out"
        ? `${s.out_reason}` + (s.remaining ? `: its ${num(s.remaining)} unsent move to the others` : "")
        : "";
      return el("tr", { "data-sender": s.sender },
        el("td", { class: "nowrap", text: s.sender }),
        el("td", { class: "num", "data-share": "sent", text: num(s.sent) }),
        el("td", { class: "num", "data-share": "remaining", text: num(s.remaining) }),
        el("td", {}, el("span", { class: "badge " + s.state, "data-share": "state", text: s.state }),
          el("span", { class: "small", "data-share": "reason", text: why ? ` ${why}` : "" })));
    }));
  }

  function summary(c) {
    const p = c.progress;
    document.title = `${c.name} · Broadcaster`;
    $("#c-name").textContent = c.name;
    badge($("#c-state"), p.state);
    show($("#c-reason"), p.reason && p.state !== "completed" ? `Reason: ${p.reason}` : "");
    $("#c-activity").textContent = p.description;
    setBar($("#c-bar"), p.percent);
    $("#c-done").textContent = `${num(p.done)} of ${num(p.total)} (${p.percent.toFixed(0)} %)`;
    $("#c-rate").textContent = rate(p.rate);
    $("#c-eta").textContent = p.state === "running" ? duration(p.eta) : "–";
    $("#c-sender").textContent = `${c.channel} ${(c.senders.length ? c.senders : [c.sender]).join(", ")}`;
    $("#c-started").textContent = when(c.started_at || c.send_at);
    $("#c-finished").textContent = when(c.finished_at);
    show($("#c-archived"), c.archived_at
      ? `Archived ${when(c.archived_at)}: its recipients left Redis; the report and the ` +
        "rows below are read from the archive file." : "");
    $("#c-calendar").textContent = c.calendar || "any time";
    $("#c-expires").textContent = c.expires_at ? when(c.expires_at) : "never";
    funnel(c, p);
    pool(c);
    controls(c, p);
  }

  async function failures(failed) {
    if (failed === failuresSeen) return;
    failuresSeen = failed;
    const data = await api(`${base}/failures`);
    const tbody = $("#f-table").tBodies[0];
    tbody.replaceChildren(...data.reasons.map((r) =>
      el("tr", {}, el("td", { text: r.code }), el("td", { class: "wide", text: r.reason }),
        el("td", { class: "num", text: num(r.count) }))));
    $("#f-table").hidden = data.total === 0;
    $("#f-none").hidden = data.total > 0;
  }

  async function recipients(force) {
    if (!campaign) return;
    const key = JSON.stringify([rows.status, rows.offset, campaign.progress.counts]);
    if (!force && key === rows.seen) return;
    rows.seen = key;
    const query = new URLSearchParams({ offset: rows.offset, limit: PAGE });
    if (rows.status) query.set("status", rows.status);
    const page = await api(`${base}/recipients?${query}`);
    $("#r-table").tBodies[0].replaceChildren(...page.items.map((r) =>
      el("tr", {},
        el("td", { class: "num", text: r.index + 1 }),
        el("td", { class: "nowrap", text: "+" + r.phone }),
        el("td", {}, el("span", { class: "badge " + r.status, text: r.status })),
        el("td", { class: "num", text: r.attempts }),
        el("td", { class: "nowrap", text: when(r.updated_at) }),
        el("td", { class: r.error ? "wide" : "", text: r.error || "" }),
        el("td", { class: r.reply ? "wide" : "", text: r.reply || "" }))));
    $("#r-prev").disabled = rows.offset === 0;
    $("#r-next").disabled = rows.offset + PAGE >= page.total;
    $("#r-range").textContent = page.total
      ? `${num(rows.offset + 1)}–${num(Math.min(rows.offset + PAGE, page.total))} of ${num(page.total)}`
      : "none";
  }

  async function tick() {
    try {
      campaign = await api(base);
      show($("#c-error"), "");
      summary(campaign);
      await failures(campaign.progress.counts.failed);
      await recipients(false);
    } catch (err) {
      show($("#c-error"), err.message);
      if (err.status === 404) return false;
      throw err;
    }
    return true;
  }

  const poller = poll(tick, () => (campaign && !ACTIVE.has(campaign.progress.state) ? 3000 : 1000));

  async function act(path, message, json) {
    const result = $("#act-result");
    result.textContent = "Working…";
    try {
      const done = await api(`${base}/${path}`, { method: "POST", json });
      result.textContent = message(done);
    } catch (err) {
      result.textContent = "";
      show($("#c-error"), err.message);
    }
    poller.now();
  }

  const counts = () => (campaign ? campaign.progress.counts : {});
  const plural = (n, word) => `${num(n)} ${word}${n === 1 ? "" : "s"}`;

  $("#act-pause").addEventListener("click", () =>
    act("pause", () => "Paused: nothing more is sent until you resume."));
  $("#act-resume").addEventListener("click", () =>
    act("resume", (d) => d.note || "Resumed: the workers send the rest."));
  $("#act-cancel").addEventListener("click", async () => {
    const k = counts();
    const left = k.pending + k.queued + k.paced + (k.off_hours || 0) + k.waiting;
    const ok = await confirmDialog("Cancel the campaign?",
      `${plural(left, "recipient")} not sent yet will not get the message. This cannot be undone.`,
      "Cancel the campaign");
    if (ok) act("cancel", (d) => `Cancelled: ${plural(d.recipients || 0, "recipient")} not sent.`);
  });
  $("#act-retry").addEventListener("click", async () => {
    const n = counts().failed;
    const ok = await confirmDialog("Retry the failed recipients?",
      `This sends the message again to ${plural(n, "failed recipient")}: ${plural(n, "message")}.`,
      `Send ${plural(n, "message")}`);
    if (ok) act("retry-failed", (d) => `Sending again to ${plural(d.recipients || 0, "recipient")}.`);
  });
  $("#act-unknown").addEventListener("click", async () => {
    const n = counts().unknown;
    const ok = await confirmDialog("Resend to recipients with an unknown outcome?",
      `This sends ${plural(n, "message")}. Replai may already have delivered them: ` +
      `these ${plural(n, "recipient")} may get the message twice.`,
      `Send ${plural(n, "message")}`);
    if (ok) {
      act("resend-unknown", (d) => `Resending to ${plural(d.recipients || 0, "recipient")}.`,
        { confirm: true });
    }
  });

  $("#act-archive").addEventListener("click", async () => {
    const ok = await confirmDialog("Archive the campaign?",
      `Its report (${plural(campaign.total, "recipient")}) is written to the archive as ` +
      "CSV.gz and downloads from there; its recipients leave Redis and a summary stays.",
      "Archive");
    if (ok) act("archive", (d) => `Archived: ${plural(d.recipients || 0, "recipient")} left Redis.`);
  });
  $("#act-delete").addEventListener("click", async () => {
    if (!campaign) return;
    const what = campaign.archived_at
      ? "Its summary goes from Redis; its archived report file is kept."
      : `Its ${plural(campaign.total, "recipient")} with their statuses, message ids and ` +
        "replies, its events and report, and its entries in the message and phone indexes " +
        "go. The suppression list is kept. This cannot be undone.";
    const ok = await confirmDialog(`Delete “${campaign.name}”?`, what, "Delete the campaign");
    if (!ok) return;
    try {
      await api(base, { method: "DELETE" });
      location.assign("/ui/campaigns");
    } catch (err) {
      show($("#c-error"), err.message);
    }
  });

  $("#r-status").addEventListener("change", (event) => {
    rows = { status: event.target.value, offset: 0, seen: "" };
    recipients(true).catch((err) => show($("#c-error"), err.message));
  });
  $("#r-prev").addEventListener("click", () => {
    rows.offset = Math.max(0, rows.offset - PAGE);
    recipients(true).catch((err) => show($("#c-error"), err.message));
  });
  $("#r-next").addEventListener("click", () => {
    rows.offset += PAGE;
    recipients(true).catch((err) => show($("#c-error"), err.message));
  });
})();
