// Launch a campaign: upload and preview the contacts (nothing is stored), compose a text or
// pick a template, preview the message for the first recipient, test it, launch.
"use strict";

(() => {
  const { api, el, $, show, num, render } = BC;
  const MAX_REJECTED_SHOWN = 100;
  const state = {
    file: null, preview: null, templates: [], previewing: 0,
    column: "", // the phone column the operator chose; "" lets the import rank them per row
    sheet: "", // the workbook's sheet the operator chose; "" is the first visible one
  };
  const FORMATS = {
    csv: "CSV", xlsx: "Excel workbook (.xlsx)", xlsb: "Excel binary workbook (.xlsb)",
    xls: "Excel 97-2003 workbook (.xls)", ods: "OpenDocument spreadsheet (.ods)",
    vcard: "vCard (.vcf)",
  };

  const kind = () => document.querySelector("input[name=kind]:checked").value;
  const firstRow = () => (state.preview && state.preview.rows[0]) || null;
  // The placeholders a message may use: the file's columns but the phone, and {name} when
  // the import builds it from name columns (First Name + Last Name...).
  const columns = () => {
    if (!state.preview) return [];
    const s = state.preview.summary;
    const names = s.columns.filter((c) => c && c !== s.phone_column);
    if ((s.name_columns || []).length && !names.includes("name")) names.push("name");
    return names;
  };
  const chosenTemplate = () => state.templates.find((t) => templateKey(t) === $("#template").value);
  const templateKey = (t) => t.name || t.id;

  // contacts ---------------------------------------------------------------------------

  async function choose(file) {
    state.file = file;
    state.preview = null;
    state.column = "";
    state.sheet = "";
    $("#phone-column").replaceChildren();
    $("#sheet-row").hidden = true;
    await runPreview();
  }

  // The choices the operator made, as the API's form fields.
  function addChoices(form) {
    if (state.column) form.append("phone_column", state.column);
    if (state.sheet) form.append("sheet", state.sheet);
  }

  async function runPreview() {
    const ticket = ++state.previewing;
    const form = new FormData();
    form.append("file", state.file);
    addChoices(form);
    show($("#file-error"), "");
    $("#file-name").textContent = `${state.file.name}: reading…`;
    try {
      const preview = await api("/campaigns/preview", { method: "POST", form });
      if (ticket !== state.previewing) return;
      state.preview = preview;
      showPreview(preview);
    } catch (err) {
      if (ticket !== state.previewing) return;
      state.preview = null;
      $("#preview").hidden = true;
      show($("#file-error"), err.message);
      if (err.body.sheets) pickSheet(err.body.sheets, state.sheet || err.body.sheet);
      if (err.body.columns) pickColumn(err.body.columns, null);
    }
    update();
  }

  // The phone column: automatic (ranked per row) unless the operator picked one; `summary`
  // is null when the automatic choice found none.
  function pickColumn(all, summary) {
    const select = $("#phone-column");
    const options = all.filter(Boolean).map((c) =>
      el("option", { value: c, selected: c === state.column, text: c }));
    const phones = summary ? summary.phone_columns || [] : [];
    const auto = !summary ? "Choose the phone column"
      : phones.length > 1 ? `Automatic: the best of ${phones.length} phone columns, per row`
        : `Automatic: ${summary.phone_column}`;
    options.unshift(el("option", { value: "", selected: !state.column, text: auto }));
    select.replaceChildren(...options);
    if (!summary) $("#preview").hidden = false;
  }

  function pickSheet(sheets, chosen) {
    $("#sheet").replaceChildren(...sheets.map((name) =>
      el("option", { value: name, selected: name === chosen, text: name })));
    $("#sheet-row").hidden = sheets.length < 2;
    if (sheets.length > 1) $("#preview").hidden = false;
  }

  function phoneColumn(c) {
    const used = c.recipients ? `${num(c.recipients)} recipients` : `ignored: ${c.ignored}`;
    return el("li", {}, `${c.column} `, el("span", { class: "muted", text: `(${c.kind}) ` }),
      used);
  }

  function showFacts(s) {
    $("#p-format").textContent = FORMATS[s.format] || s.format;
    $("#p-encoding").textContent = s.encoding;
    $("#p-encoding-fact").hidden = !s.encoding || !!s.sheet;
    $("#p-delimiter").textContent = { ",": "comma (,)", ";": "semicolon (;)", "\t": "tab" }[
      s.delimiter] || JSON.stringify(s.delimiter);
    $("#p-delimiter-fact").hidden = !s.delimiter || s.format !== "csv";
    $("#p-rows").textContent = num(s.rows);
    show($("#p-explanation"), s.explanation);
    const phones = s.phone_columns || [];
    $("#p-phones").replaceChildren(...phones.map(phoneColumn));
    $("#p-phones").hidden = phones.length < 2;
  }

  function showPreview({ summary: s, rows }) {
    $("#preview").hidden = false;
    const sheet = s.sheet ? `, sheet ${s.sheet}` : "";
    $("#file-name").textContent = `${state.file.name}${sheet}: ${num(s.rows)} rows read`;
    pickSheet(s.sheets || [], s.sheet);
    pickColumn(s.columns, s);
    showFacts(s);
    for (const name of ["valid", "duplicates", "suppressed", "rejected"]) {
      $(`#p-${name}`).textContent = num(s[name]);
    }
    const shown = s.errors.slice(0, MAX_REJECTED_SHOWN);
    $("#rejected-table").tBodies[0].replaceChildren(...shown.map((e) =>
      el("tr", {}, el("td", { class: "num", text: e.line }),
        el("td", { class: "wide", text: e.reason }))));
    $("#rejected").hidden = s.rejected === 0;
    show($("#rejected-more"), s.rejected > shown.length
      ? `${num(s.rejected - shown.length)} more rejected rows are not listed.` : "");
    const names = columns();
    const several = (s.phone_columns || []).length > 1 && !state.column;
    $("#rows-table").tHead.replaceChildren(el("tr", {},
      el("th", { scope: "col", class: "num", text: "Line" }),
      el("th", { scope: "col", text: several ? "Phone" : `Phone (${s.phone_column})` }),
      ...names.map((n) => el("th", { scope: "col", text: n }))));
    $("#rows-table").tBodies[0].replaceChildren(...rows.map((r) =>
      el("tr", {}, el("td", { class: "num", text: r.line }),
        el("td", { class: "nowrap", text: "+" + r.phone }),
        ...names.map((n) => el("td", { text: r.variables[n] || "" })))));
    $("#columns-hint").textContent = names.length
      ? "Columns you can use: " + names.map((n) => `{${n}}`).join(" ") : "";
    if (kind() === "template") drawParams();
  }

  const drop = $("#drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) choose(file);
  });
  $("#file").addEventListener("change", (event) => {
    if (event.target.files[0]) choose(event.target.files[0]);
  });
  $("#phone-column").addEventListener("change", () => {
    state.column = $("#phone-column").value;
    if (state.file) runPreview();
  });
  $("#sheet").addEventListener("change", () => {
    state.sheet = $("#sheet").value;
    state.column = ""; // another sheet has other columns
    if (state.file) runPreview();
  });

  // message ----------------------------------------------------------------------------

  async function loadTemplates() {
    const sender = $("#sender").value.trim();
    show($("#template-error"), sender ? "" : "Enter the sender first.");
    if (!sender) return;
    try {
      state.templates = await api(`/templates?sender=${encodeURIComponent(sender)}`);
    } catch (err) {
      show($("#template-error"), err.message);
      return;
    }
    $("#template").replaceChildren(el("option", { value: "", text: "Choose a template" }),
      ...state.templates.map((t) => el("option", { value: templateKey(t), disabled: !t.approved,
        text: `${templateKey(t)} (${t.language || "?"}, ${t.param_count} parameters` +
          `${t.approved ? "" : ", " + (t.status || "not approved")})` })));
    show($("#template-error"), state.templates.length ? "" : "This sender has no template.");
    drawParams();
  }

  function drawParams() {
    const template = chosenTemplate();
    $("#template-body").textContent = template && template.body ? template.body : "";
    const names = columns();
    const old = params();
    const count = template ? template.param_count : 0;
    $("#params").replaceChildren(...Array.from({ length: count }, (_, i) => {
      const previous = old[i];
      const select = el("select", { id: `param-${i}`, "data-param": i },
        ...names.map((n) => el("option", { value: `col:${n}`, text: `column ${n}`,
          selected: previous === n })),
        el("option", { value: "fixed", text: "fixed text…",
          selected: previous !== undefined && !names.includes(previous) }));
      const fixed = el("input", { id: `param-${i}-text`, type: "text", autocomplete: "off",
        value: previous !== undefined && !names.includes(previous) ? previous : "" });
      const fixedPart = el("div", { class: "field" },
        el("label", { for: `param-${i}-text`, text: `Text for parameter {{${i + 1}}}` }), fixed);
      const sync = () => {
        fixedPart.hidden = select.value !== "fixed";
        update();
      };
      select.addEventListener("change", sync);
      fixed.addEventListener("input", update);
      fixedPart.hidden = select.value !== "fixed";
      return el("div", { class: "param" },
        el("label", { for: `param-${i}`, text: `Parameter {{${i + 1}}}` }), select, fixedPart);
    }));
    update();
  }

  // Each parameter as the API takes it: a column name, or a literal text.
  function params() {
    return Array.from(document.querySelectorAll("#params select")).map((select) => {
      if (select.value.startsWith("col:")) return select.value.slice(4);
      return $(`#param-${select.dataset.param}-text`).value;
    });
  }

  // The message for the first recipient, and the placeholders that are not columns.
  function message() {
    const row = firstRow();
    const variables = row ? row.variables : {};
    const missing = new Set();
    if (kind() === "text") {
      const text = $("#text").value;
      return { text: text.trim() ? render(text, variables, missing) : "", missing };
    }
    const template = chosenTemplate();
    if (!template) return { text: "", missing };
    const values = params().map((p) =>
      (columns().includes(p) ? variables[p] || "" : render(p, variables, missing)));
    const body = template.body || `${templateKey(template)}(${values.join(", ")})`;
    const text = body.replace(/\{\{(\d+)\}\}/g, (_, n) => values[Number(n) - 1] ?? "");
    return { text, missing };
  }

  // The pool: the configured senders ticked in the picker, then those typed, each once.
  function poolSenders() {
    const ticked = [...document.querySelectorAll("input[name=pool-sender]:checked")]
      .map((box) => box.value);
    const typed = $("#senders").value.split(",").map((s) => s.trim()).filter(Boolean);
    return [...new Set([...ticked, ...typed])];
  }

  function poolSummary() {
    const main = $("#sender").value.trim();
    const pool = [...new Set([main, ...poolSenders()].filter(Boolean))];
    $("#pool-summary").textContent = pool.length > 1
      ? `A pool of ${pool.length} senders: ${pool.join(", ")}.` : "";
  }

  async function loadSenders() {
    const senders = await api("/senders");
    $("#pool-senders").replaceChildren(...senders.flatMap((s) => {
      const id = `pool-${s.id}`;
      const box = el("input", { type: "checkbox", id, name: "pool-sender", value: s.id });
      box.addEventListener("change", poolSummary);
      return [box, el("label", { for: id,
        text: `${s.id} (${s.account}, ${num(s.rate_per_minute)}/min)` })];
    }));
    $("#pool-picker").hidden = senders.length === 0;
  }

  function fields() {
    const data = {
      channel: $("#channel").value,
      sender: $("#sender").value.trim(),
    };
    const pool = poolSenders();
    if (pool.length) data.senders = pool;
    if (kind() === "text") {
      data.text = $("#text").value;
    } else {
      const template = chosenTemplate();
      data.template = template ? templateKey(template) : "";
      data.params = params();
      if (template && template.language) data.language = template.language;
    }
    return data;
  }

  function problems() {
    const s = state.preview && state.preview.summary;
    const { text, missing } = message();
    const out = [];
    if (!s) out.push("upload a contacts file");
    else if (!s.valid) out.push("the file has no valid recipient");
    if (!$("#sender").value.trim()) out.push("enter the sender");
    if (!text.trim()) out.push(kind() === "text" ? "write the text" : "choose a template");
    if (missing.size && state.preview) {
      out.push("use only columns of the file as placeholders");
    }
    return out;
  }

  function update() {
    const { text, missing } = message();
    $("#message-preview").textContent = text || "Upload a file and write a message.";
    show($("#message-warning"), missing.size && state.preview
      ? `Not columns of the file (they would be empty): ${[...missing].map((m) => `{${m}}`).join(" ")}`
      : "");
    const todo = problems();
    $("#launch").disabled = todo.length > 0;
    const s = state.preview && state.preview.summary;
    const when = $("#send-at").value
      ? `starts at ${new Date($("#send-at").value).toLocaleString()}` : "starts right away";
    $("#launch-summary").textContent = todo.length
      ? `Before launching: ${todo.join("; ")}.`
      : `Sends to ${num(s.valid)} recipients; ${when}. ` +
        `${num(s.rejected)} rejected, ${num(s.duplicates)} duplicate and ` +
        `${num(s.suppressed)} suppressed rows are left out.`;
  }

  for (const input of document.querySelectorAll("input[name=kind]")) {
    input.addEventListener("change", () => {
      $("#text-part").hidden = kind() !== "text";
      $("#template-part").hidden = kind() !== "template";
      if (kind() === "template" && !state.templates.length && $("#sender").value.trim()) {
        loadTemplates();
      }
      update();
    });
  }
  for (const id of ["#text", "#sender", "#send-at", "#channel"]) {
    $(id).addEventListener("input", update);
  }
  $("#template").addEventListener("change", drawParams);
  $("#load-templates").addEventListener("click", loadTemplates);

  // test send and launch ---------------------------------------------------------------

  $("#test-send").addEventListener("click", async () => {
    const out = $("#test-result");
    const phone = $("#test-phone").value.trim();
    out.className = "";
    if (!phone) {
      out.textContent = "Enter a number to send the test to.";
      return;
    }
    const row = firstRow();
    out.textContent = "Sending…";
    try {
      const result = await api("/messages/test", { method: "POST",
        json: { ...fields(), phone, variables: row ? row.variables : {} } });
      out.className = result.ok ? "" : "error";
      out.textContent = result.ok
        ? `Test sent to +${result.phone} (message id ${result.message_id || "none"}).`
        : `Not sent to +${result.phone}: ${result.error}`;
    } catch (err) {
      out.className = "error";
      out.textContent = err.message;
    }
  });

  // The sending hours: hours and the ticked days (all seven: every day), a timezone, and
  // when recipients not sent yet expire.
  function addCalendar(form) {
    const days = [...document.querySelectorAll("input[name=day]:checked")].map((d) => d.value);
    const hours = $("#hours").value.trim();
    if (hours || days.length < 7) {
      form.append("hours", hours || "00:00-24:00");
      form.append("days", days.join(",") || "none");
    }
    if ($("#tz").value.trim()) form.append("tz", $("#tz").value.trim());
    if ($("#expires").value) form.append("expires_at", new Date($("#expires").value).toISOString());
  }

  $("#launch-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (event.submitter !== $("#launch") || problems().length) return;
    const form = new FormData();
    form.append("file", state.file);
    for (const [name, value] of Object.entries(fields())) {
      for (const item of Array.isArray(value) ? value : [value]) form.append(name, item);
    }
    addChoices(form);
    if ($("#name").value.trim()) form.append("name", $("#name").value.trim());
    if ($("#send-at").value) form.append("send_at", new Date($("#send-at").value).toISOString());
    if ($("#rate").value) form.append("rate_per_minute", $("#rate").value);
    addCalendar(form);
    $("#launch").disabled = true;
    show($("#launch-error"), "");
    $("#launch-summary").textContent = "Launching…";
    try {
      const created = await api("/campaigns", { method: "POST", form });
      location.assign(`/ui/campaigns/${encodeURIComponent(created.id)}`);
    } catch (err) {
      show($("#launch-error"), err.message);
      update();
    }
  });

  $("#senders").addEventListener("input", poolSummary);
  $("#sender").addEventListener("input", poolSummary);
  loadSenders().catch((err) => show($("#launch-error"), err.message));
  update();
})();
