// The campaigns list: state, progress bar, counts, send rate, start and finish, refreshed.
"use strict";

(() => {
  const { api, el, $, show, num, when, rate, badge, setBar, poll } = BC;
  const PAGE = 20;
  let offset = 0;

  function counts(p) {
    const c = p.counts;
    const sent = c.sent + c.delivered + c.read;
    return el("ul", { class: "counts small", "aria-label": "Recipients by status" },
      el("li", {}, el("strong", { text: num(sent) }), " sent"),
      el("li", {}, el("strong", { text: num(c.delivered + c.read) }), " delivered"),
      el("li", {}, el("strong", { text: num(c.read) }), " read"),
      el("li", { class: "bad" }, el("strong", { text: num(c.failed) }), " failed"),
      el("li", {}, el("strong", { text: num(c.unknown) }), " unknown"),
      el("li", {}, el("strong", { text: num(p.total - p.done) }), " to go"));
  }

  function item(campaign) {
    const p = campaign.progress;
    const state = el("span", {});
    badge(state, p.state);
    const bar = el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0,
      "aria-valuemax": 100, "aria-label": `Progress of ${campaign.name}` }, el("span"));
    setBar(bar, p.percent);
    return el("article", { class: "card campaign-item", "data-id": campaign.id },
      el("h2", {}, el("a", { href: `/ui/campaigns/${encodeURIComponent(campaign.id)}`,
        text: campaign.name }), state,
        campaign.archived_at ? el("span", { class: "badge archived", text: "archived",
          title: `Archived ${when(campaign.archived_at)}` }) : null),
      bar,
      el("p", { class: "small muted" },
        `${num(p.done)} of ${num(p.total)} done (${p.percent.toFixed(0)} %)`),
      counts(p),
      el("dl", { class: "facts small" },
        el("div", {}, el("dt", { text: "Now" }), el("dd", { text: p.description })),
        el("div", {}, el("dt", { text: "Send rate" }), el("dd", { text: rate(p.rate) })),
        el("div", {}, el("dt", { text: "Started" }), el("dd", { text: when(campaign.started_at) })),
        el("div", {}, el("dt", { text: "Finished" }), el("dd", { text: when(campaign.finished_at) })),
        el("div", {}, el("dt", { text: "Sender" }),
          el("dd", { text: `${campaign.channel} ${campaign.sender}` }))));
  }

  const mb = (bytes) => `${num(Math.round(bytes / 1e6))} MB`;

  // Redis memory against maxmemory, from /healthz (which answers 503, with the body, when a
  // part fails: the figure still shows).
  async function memory() {
    try {
      const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
      const m = (await response.json()).memory;
      if (!m) return;
      const limit = m.max
        ? ` of ${mb(m.max)} maxmemory (${(100 * m.headroom).toFixed(0)} % free; ` +
          `below ${(100 * m.min_headroom).toFixed(0)} % new campaigns are refused)`
        : " (no maxmemory set)";
      show($("#memory"), `Redis memory: ${mb(m.used)}${limit}.`);
    } catch (err) {
      show($("#memory"), "");
    }
  }

  async function refresh() {
    memory();
    try {
      const page = await api(`/campaigns?offset=${offset}&limit=${PAGE}`);
      show($("#list-error"), "");
      $("#campaign-list").replaceChildren(...page.items.map(item));
      $("#list-empty").hidden = page.total > 0;
      $("#list-prev").disabled = offset === 0;
      $("#list-next").disabled = offset + PAGE >= page.total;
      $("#list-range").textContent = page.total
        ? `${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total}` : "";
    } catch (err) {
      show($("#list-error"), err.message);
      throw err;
    }
  }

  const poller = poll(refresh, 2000);
  $("#list-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    poller.now();
  });
  $("#list-next").addEventListener("click", () => {
    offset += PAGE;
    poller.now();
  });
})();
