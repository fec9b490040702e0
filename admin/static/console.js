// hookgate admin console: relative times, copy buttons, the replay / cancel / sign-out
// buttons (POSTs with the session's CSRF token) and refreshing a live page. No inline
// handlers: the Content-Security-Policy allows this file only.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

function span(s) {
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min`
    : s < 86400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86400)} d`;
}

function ago(date) {
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  return seconds < 0 ? `in ${span(-seconds)}` : `${span(seconds)} ago`;
}

function since(date, first) {
  const seconds = (date.getTime() - first.getTime()) / 1000;
  return seconds < 10 ? `+${seconds.toFixed(2)} s` : `+${span(Math.round(seconds))}`;
}

// Every time relative to now; on a timeline, each step after the first relative to it.
function relabel() {
  let first = null;
  for (const el of document.querySelectorAll("time[datetime]")) {
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    const step = el.closest("ol.timeline") !== null;
    el.textContent = step && first ? since(date, first) : ago(date);
    if (step && !first) first = date;
  }
}

function flash(text, ok) {
  const box = document.getElementById("flash");
  box.textContent = text;
  box.className = ok ? "ok" : "bad";
  box.hidden = false;
}

async function post(url, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrf-token": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function act(button) {
  const verb = button.classList.contains("cancel") ? "cancel" : "replay";
  const service = button.dataset.service;
  button.disabled = true;
  try {
    const answer = await post(button.dataset.action, service ? { service } : {});
    const body = await answer.json().catch(() => ({}));
    if (answer.ok) {
      const names = body.replayed || body.cancelled || [];
      flash(`${verb === "replay" ? "Replayed" : "Cancelled"} for ${names.join(", ") || service}.`, true);
    } else {
      flash(`Could not ${verb} (${answer.status} ${body.status || ""}): ${body.detail || ""}`, false);
    }
  } catch (err) {
    flash(`Could not ${verb}: ${err}`, false);
  } finally {
    button.disabled = false;
    refresh();
  }
}

async function refresh() {
  const main = document.querySelector("main[data-refresh]");
  if (!main) return;
  const answer = await fetch(location.href, { credentials: "same-origin" }).catch(() => null);
  if (!answer) return;
  if (answer.status === 401) { location.reload(); return; }
  if (!answer.ok) return;
  const page = new DOMParser().parseFromString(await answer.text(), "text/html");
  const fresh = page.querySelector("main");
  if (fresh) { main.replaceChildren(...fresh.childNodes); relabel(); }
}

document.addEventListener("click", async (click) => {
  const target = click.target instanceof Element ? click.target : null;
  const copy = target?.closest("button[data-copy]");
  if (copy) {
    if (navigator.clipboard) await navigator.clipboard.writeText(copy.dataset.copy).catch(() => {});
    copy.classList.add("done");
    setTimeout(() => copy.classList.remove("done"), 1200);
    return;
  }
  const action = target?.closest("button[data-action]");
  if (action) { act(action); return; }
  if (target?.closest("button[data-logout]")) {
    await post("/logout").catch(() => null);
    location.assign("/login");
  }
});

document.addEventListener("DOMContentLoaded", () => {
  relabel();
  setInterval(relabel, 15000);
  const main = document.querySelector("main[data-refresh]");
  const every = Number(main?.dataset.refresh || 0);
  if (every > 0) setInterval(() => { if (!document.hidden) refresh(); }, every * 1000);
});
