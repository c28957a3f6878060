// Shared by every signed-in page: API calls, DOM building, formatting, polling.
// Data is only ever put into the page as text (textContent), never as markup.
"use strict";

window.BC = (() => {
  class ApiError extends Error {
    constructor(status, detail, body) {
      super(detail);
      this.status = status;
      this.body = body || {};
    }
  }

  // The session cookie goes with every same-origin request; the header marks the page's
  // own requests (a page of another origin cannot send it without a CORS preflight).
  async function api(path, { method = "GET", json, form } = {}) {
    const headers = { "X-Requested-With": "broadcaster", Accept: "application/json" };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body, credentials: "same-origin" });
    } catch (err) {
      throw new ApiError(0, "The server cannot be reached. Check the connection and retry.");
    }
    if (response.status === 401) {
      toLogin();
      throw new ApiError(401, "Your session has ended: sign in again.");
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : null;
    if (!response.ok) {
      const detail = (data && data.detail) || `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, detail, data);
    }
    return data;
  }

  function toLogin() {
    const here = location.pathname + location.search;
    location.assign("/ui/login?next=" + encodeURIComponent(here));
  }

  // el("td", {class: "num", "data-x": 1}, "text", childNode)
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const $ = (selector) => document.querySelector(selector);

  function show(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  const numberFormat = new Intl.NumberFormat();
  const num = (value) => numberFormat.format(value || 0);

  function when(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  function rate(perSecond) {
    if (!perSecond) return "–";
    return `${(perSecond * 60).toFixed(perSecond * 60 < 10 ? 1 : 0)} / min`;
  }

  function badge(node, state) {
    node.className = "badge " + state;
    node.textContent = state;
  }

  function setBar(bar, percent) {
    const value = Math.max(0, Math.min(100, percent || 0));
    bar.firstElementChild.style.width = value + "%";
    bar.setAttribute("aria-valuenow", String(Math.round(value)));
    bar.setAttribute("aria-valuetext", `${value.toFixed(0)} percent`);
  }

  // Calls `tick` now and then every `every` ms (a number or a function giving one), never
  // two at once; five times slower while the tab is hidden.
  function poll(tick, every) {
    let timer = null;
    let stopped = false;
    async function run() {
      try {
        const again = await tick();
        if (again === false) stopped = true;
      } catch (err) {
        if (err.status === 401) stopped = true;
      }
      const ms = typeof every === "function" ? every() : every;
      if (!stopped) timer = setTimeout(run, document.hidden ? ms * 5 : ms);
    }
    run();
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
      now() {
        clearTimeout(timer);
        stopped = false;
        run();
      },
    };
  }

  // A modal yes/no question in the page's <dialog id="confirm">; resolves true on yes.
  function confirmDialog(title, text, yes) {
    const dialog = $("#confirm");
    $("#confirm-title").textContent = title;
    $("#confirm-text").textContent = text;
    $("#confirm-ok").textContent = yes;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
    });
  }

  const PLACEHOLDER = /\{([^{}\n]+)\}/g;

  // The text with {column} filled from a row; unknown names are collected in `missing`.
  function render(text, variables, missing = new Set()) {
    return text.replace(PLACEHOLDER, (_, name) => {
      const key = name.trim();
      if (!(key in variables)) {
        missing.add(key);
        return "";
      }
      return variables[key];
    });
  }

  return { ApiError, api, el, $, show, num, when, duration, rate, badge, setBar, poll,
    confirmDialog, render };
})();
