// omnihub console: the little that needs a script. Everything works without it, except
// that parts of a page refresh by themselves and dangerous buttons ask first.
"use strict";

// Every element with data-refresh="URL" data-every="ms" is replaced by a fresh copy of its
// contents, fetched with the session cookie, while the page is visible.
function refreshPart(part) {
  const every = Number(part.dataset.every || 5000);
  const tick = async () => {
    if (!document.hidden) {
      try {
        const response = await fetch(part.dataset.refresh, { credentials: "same-origin", headers: { "accept": "text/html" } });
        if (response.redirected || response.status === 303) { window.location.assign("/admin/login"); return; }
        if (response.ok) { part.innerHTML = await response.text(); }
      } catch (_) { /* offline for a moment: try again next tick */ }
    }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

// Forms with data-confirm="question" are sent only when the question is answered yes.
function confirmForm(form) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh]").forEach(refreshPart);
  document.querySelectorAll("form[data-confirm]").forEach(confirmForm);
});
