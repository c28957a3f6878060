// The suppression list: search, add, remove, import a CSV.
"use strict";

(() => {
  const { api, el, $, show, num, when } = BC;
  const PAGE = 50;
  // How a number got on the list (the API's `source`).
  const SOURCES = {
    keyword: "replied a stop keyword",
    button: "tapped an opt-out button",
    user_preferences: "stopped marketing in WhatsApp",
    failed_131050: "send failed: stopped marketing (131050)",
    manual: "added by an operator",
    erased: "number erased on request (kept as a keyed hash)",
    import: "imported by an operator",
    legacy: "listed before sources were kept",
  };
  let query = "";
  let offset = 0;

  function fail(err) {
    $("#s-result").textContent = "";
    show($("#s-error"), err.message);
  }

  function done(message) {
    show($("#s-error"), "");
    $("#s-result").textContent = message;
  }

  async function refresh() {
    const params = new URLSearchParams({ offset, limit: PAGE });
    if (query) params.set("q", query);
    const page = await api(`/suppression?${params}`);
    $("#s-table").tBodies[0].replaceChildren(...page.items.map((item) => {
      const phone = item.phone;
      const remove = el("button", { type: "button", class: "danger",
        "aria-label": `Remove +${phone} from the list`, text: "Remove" });
      remove.addEventListener("click", () => removePhone(phone).catch(fail));
      return el("tr", {},
        el("td", { class: "nowrap", text: "+" + phone }),
        el("td", { text: SOURCES[item.source] || item.source }),
        el("td", { text: when(item.opted_out_at) }),
        el("td", { class: "num" }, remove));
    }));
    $("#s-empty").hidden = page.total > 0;
    $("#s-prev").disabled = offset === 0;
    $("#s-next").disabled = offset + PAGE >= page.total;
    $("#s-range").textContent = page.total
      ? `${num(offset + 1)}–${num(Math.min(offset + PAGE, page.total))} of ${num(page.total)}` : "";
  }

  async function removePhone(phone) {
    await api(`/suppression/${encodeURIComponent(phone)}`, { method: "DELETE" });
    done(`+${phone} removed: later campaigns may message it again.`);
    await refresh();
  }

  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    query = $("#q").value.trim();
    offset = 0;
    refresh().catch(fail);
  });
  $("#s-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    refresh().catch(fail);
  });
  $("#s-next").addEventListener("click", () => {
    offset += PAGE;
    refresh().catch(fail);
  });

  $("#add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const phones = $("#add-phones").value.split(/[\n,;]+/).map((p) => p.trim()).filter(Boolean);
    if (!phones.length) return;
    try {
      const result = await api("/suppression", { method: "POST", json: { phones } });
      done(`${num(result.added)} added (${num(phones.length - result.added)} were already listed).`);
      $("#add-phones").value = "";
      await refresh();
    } catch (err) {
      fail(err);
    }
  });

  $("#import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("#import-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    if ($("#import-column").value.trim()) form.append("phone_column", $("#import-column").value.trim());
    try {
      const result = await api("/suppression/import", { method: "POST", form });
      const s = result.summary;
      const rejected = s.rejected
        ? ` ${num(s.rejected)} rows rejected: ` +
          s.errors.slice(0, 5).map((e) => `line ${e.line} (${e.reason})`).join(", ") : "";
      done(`${num(result.added)} added, ${num(s.suppressed)} already listed.${rejected}`);
      $("#import-form").reset();
      await refresh();
    } catch (err) {
      fail(err);
    }
  });

  refresh().catch(fail);
})();
